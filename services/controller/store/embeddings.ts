/**
 * Image embeddings of a state (one row per state and image, float16 bytes as
 * the model sent them). They live and die with the state's predictions of
 * the image: an inference run stages them under its run id as they arrive,
 * and the transaction that completes the job replaces the state's embeddings
 * of the run's images (an image the model gave none for is left with none),
 * exactly as store/predictions.ts does for the predictions.
 */
import type pg from 'pg';
import type { ImageEmbedding } from '../domain.js';
import { bufferOf, numberArray, uuidArray } from './array-params.js';
import { inTransaction, type Db } from './db.js';
import type { StagingRun } from './predictions.js';

/** Rows per statement: an embedding is a few hundred bytes, sent as hex in an array literal. */
const ROWS_PER_INSERT = 10_000;

type EmbeddingRows = readonly { imageId: string; embedding: ImageEmbedding }[];

/**
 * Embeddings of one state into `table` as column arrays unnested by Postgres (one statement per
 * ROWS_PER_INSERT, not a VALUES tuple each: see store/predictions.ts), with the staging run's columns when given.
 */
async function insertEmbeddingRows(db: Db, table: 'image_embeddings' | 'staged_image_embeddings', stateId: string, embeddings: EmbeddingRows, run?: StagingRun): Promise<void> {
  const runColumns = run ? 'run_id, job_id, ' : '';
  const runValues = run ? '$5, $6, ' : '';
  for (let start = 0; start < embeddings.length; start += ROWS_PER_INSERT) {
    const chunk = embeddings.slice(start, start + ROWS_PER_INSERT);
    await db.query(
      `INSERT INTO ${table} (${runColumns}state_id, image_id, dim, float16)
       SELECT ${runValues}$1, u.image_id, u.dim, u.float16 FROM unnest($2::uuid[], $3::int[], $4::bytea[]) AS u(image_id, dim, float16)`,
      [stateId, uuidArray(chunk.map((e) => e.imageId)), numberArray(chunk.map((e) => e.embedding.dim)), chunk.map((e) => bufferOf(e.embedding.float16)),
        ...(run ? [run.runId, run.jobId] : [])]);
  }
}

/**
 * Stages a run's embeddings of some images, replacing what the run staged for
 * those images before (a shard retried on another worker sends them again).
 * `imageIds` are all the images of the batch, `embeddings` those that have one.
 */
export async function stageEmbeddings(db: Db, run: StagingRun, stateId: string, imageIds: readonly string[], embeddings: EmbeddingRows): Promise<void> {
  await inTransaction(db, async (client) => {
    await client.query('DELETE FROM staged_image_embeddings WHERE run_id = $1 AND image_id = ANY($2)', [run.runId, uuidArray(imageIds)]);
    await insertEmbeddingRows(client, 'staged_image_embeddings', stateId, embeddings, run);
  });
}

/** The run's staged embeddings become the state's embeddings of the run's images; inside the transaction that completes the job. */
export async function commitStagedEmbeddings(client: Db, run: StagingRun, stateId: string): Promise<void> {
  const runImages = 'SELECT image_id FROM inference_images WHERE run_id = $2';
  await client.query(`DELETE FROM image_embeddings WHERE state_id = $1 AND image_id IN (${runImages})`, [stateId, run.runId]);
  await client.query(
    `INSERT INTO image_embeddings (state_id, image_id, dim, float16)
     SELECT state_id, image_id, dim, float16 FROM staged_image_embeddings WHERE run_id = $2 AND state_id = $1 AND image_id IN (${runImages})`,
    [stateId, run.runId]);
  await client.query('DELETE FROM staged_image_embeddings WHERE job_id = $1', [run.jobId]);
}

/** Drops what a run staged (it failed, or was committed). */
export async function discardStagedEmbeddings(db: Db, run: StagingRun): Promise<void> {
  await db.query('DELETE FROM staged_image_embeddings WHERE run_id = $1', [run.runId]);
}

/**
 * Stores a state's embeddings of some images directly, replacing theirs
 * (seeding and tests, like insertPredictions; inference stages and commits).
 */
export async function insertEmbeddings(db: Db, stateId: string, embeddings: EmbeddingRows): Promise<void> {
  await inTransaction(db, async (client) => {
    await client.query('DELETE FROM image_embeddings WHERE state_id = $1 AND image_id = ANY($2)', [stateId, uuidArray(embeddings.map((e) => e.imageId))]);
    await insertEmbeddingRows(client, 'image_embeddings', stateId, embeddings);
  });
}

/** What leaves the controller beside an image's predictions: its embedding of the state, whether it has annotations. */
export interface ImageExtras {
  embeddings: Map<string, ImageEmbedding>;
  annotated: Set<string>;
}

/**
 * The state's embeddings of `imageIds` and which of them are annotated, in one query. The ids (UUIDs, which
 * need no quoting) travel as one array literal joined at once, not escaped element by element by the driver.
 */
export async function imageExtras(db: Db, stateId: string, imageIds: readonly string[]): Promise<ImageExtras> {
  const { rows } = await db.query<{ image_id: string; dim: number | null; float16: Buffer | null; annotated: boolean }>(imageExtrasQuery(stateId, imageIds));
  const out: ImageExtras = { embeddings: new Map(), annotated: new Set() };
  for (const r of rows) {
    if (r.dim !== null && r.float16 !== null) out.embeddings.set(r.image_id, { dim: r.dim, float16: r.float16 });
    if (r.annotated) out.annotated.add(r.image_id);
  }
  return out;
}

/**
 * imageExtras' query, on its own so that its plan can be checked. Each image's embedding is looked up by its key
 * (a lateral subquery with LIMIT is not flattened into a join): as a plain join the planner chose by statistics,
 * and with stale ones (inference does not analyse) it hashed every embedding of the state for each group, 35 ms a
 * group of 1,000 at 100,000 images instead of 4, quadratic in the state.
 */
export function imageExtrasQuery(stateId: string, imageIds: readonly string[]): pg.QueryConfig {
  return {
    text: `SELECT i.id AS image_id, e.dim, e.float16, EXISTS (SELECT 1 FROM annotations a WHERE a.image_id = i.id) AS annotated
     FROM unnest($2::uuid[]) AS i(id)
     LEFT JOIN LATERAL (SELECT dim, float16 FROM image_embeddings WHERE state_id = $1 AND image_id = i.id LIMIT 1) e ON true`,
    values: [stateId, uuidArray(imageIds)],
  };
}

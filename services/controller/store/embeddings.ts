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
import type { Db } from './db.js';
import type { StagingRun } from './predictions.js';

/** Rows per INSERT (7 parameters each; an embedding is a few hundred bytes). */
const ROWS_PER_INSERT = 2000;

const bytes = (u8: Uint8Array): Buffer => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);

/**
 * Stages a run's embeddings of some images, replacing what the run staged for
 * those images before (a shard retried on another worker sends them again).
 * `imageIds` are all the images of the batch, `embeddings` those that have one.
 */
export async function stageEmbeddings(
  db: Db, run: StagingRun, stateId: string, imageIds: readonly string[], embeddings: readonly { imageId: string; embedding: ImageEmbedding }[],
): Promise<void> {
  await db.query('DELETE FROM staged_image_embeddings WHERE run_id = $1 AND image_id = ANY($2)', [run.runId, [...imageIds]]);
  for (let start = 0; start < embeddings.length; start += ROWS_PER_INSERT) {
    const chunk = embeddings.slice(start, start + ROWS_PER_INSERT);
    const tuples = chunk.map((_, r) => `(${Array.from({ length: 6 }, (_, c) => `$${r * 6 + c + 1}`).join(', ')})`);
    await db.query(
      `INSERT INTO staged_image_embeddings (run_id, job_id, state_id, image_id, dim, float16) VALUES ${tuples.join(', ')}`,
      chunk.flatMap((e) => [run.runId, run.jobId, stateId, e.imageId, e.embedding.dim, bytes(e.embedding.float16)]));
  }
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
export async function insertEmbeddings(db: Db, stateId: string, embeddings: readonly { imageId: string; embedding: ImageEmbedding }[]): Promise<void> {
  await db.query('DELETE FROM image_embeddings WHERE state_id = $1 AND image_id = ANY($2)', [stateId, embeddings.map((e) => e.imageId)]);
  for (let start = 0; start < embeddings.length; start += ROWS_PER_INSERT) {
    const chunk = embeddings.slice(start, start + ROWS_PER_INSERT);
    const tuples = chunk.map((_, r) => `($${r * 4 + 1}, $${r * 4 + 2}, $${r * 4 + 3}, $${r * 4 + 4})`);
    await db.query(`INSERT INTO image_embeddings (state_id, image_id, dim, float16) VALUES ${tuples.join(', ')}`,
      chunk.flatMap((e) => [stateId, e.imageId, e.embedding.dim, bytes(e.embedding.float16)]));
  }
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
    values: [stateId, `{${imageIds.join(',')}}`],
  };
}

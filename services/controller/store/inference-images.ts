/**
 * An inference run's images (migration 0008): chosen by one statement when
 * the run starts, split into shards in path order (round robin, as
 * orchestration/shards.ts splits a list), read back a page per shard with a
 * keyset scan, and joined against when the run commits. The controller holds
 * a page, never the project's list of images.
 */
import type { ImageData, UnreadableImage } from '../../../libs/gen/aide/v1/worker.js';
import type { Db } from './db.js';
import type { StagingRun } from './predictions.js';

export interface InferenceSelection {
  /** These images (annotated or not); default: every image without annotations. */
  imageIds?: readonly string[];
  /** Golden questions only, annotated or not (their answers are known: that is the point). */
  goldenOnly?: boolean;
  /** Without imageIds: every image, annotated or not (suspect-annotation review, diversity rankers' centres). */
  includeAnnotated?: boolean;
}

/** Images read per query when a shard is sent to a worker. */
export const INFERENCE_PAGE = 2000;

/**
 * Chooses the run's images and splits them into at most `numShards` shards;
 * the images per shard, empty shards left out (fewer images than shards).
 */
export async function chooseInferenceImages(db: Db, project: string, run: StagingRun, sel: InferenceSelection, numShards: number): Promise<number[]> {
  await db.query(
    `INSERT INTO inference_images (run_id, job_id, shard, file_path, image_id, golden_question)
     SELECT $5, $6, (row_number() OVER (ORDER BY i.file_path) - 1) % $7, i.file_path, i.id, i.golden_question FROM images i
     WHERE i.project = $1
       AND (CASE WHEN $2::uuid[] IS NOT NULL THEN i.id = ANY($2)
                 WHEN $3 OR $4 THEN true
                 ELSE NOT EXISTS (SELECT 1 FROM annotations a WHERE a.image_id = i.id) END)
       AND (NOT $3 OR i.golden_question)`,
    [project, sel.imageIds && sel.imageIds.length > 0 ? [...sel.imageIds] : null, sel.goldenOnly ?? false, sel.includeAnnotated ?? false,
      run.runId, run.jobId, Math.max(1, numShards)],
  );
  const { rows } = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM inference_images WHERE run_id = $1 GROUP BY shard ORDER BY shard', [run.runId]);
  return rows.map((r) => Number(r.n));
}

/** One shard's images in path order, `pageSize` per query. */
export async function* inferenceImagePages(db: Db, runId: string, shard: number, pageSize = INFERENCE_PAGE): AsyncGenerator<ImageData[]> {
  for (let after = ''; ;) {
    const { rows } = await db.query<{ image_id: string; file_path: string }>(
      `SELECT image_id, file_path FROM inference_images WHERE run_id = $1 AND shard = $2 AND file_path > $3
       ORDER BY file_path LIMIT $4`, [runId, shard, after, pageSize]);
    if (rows.length > 0) yield rows.map((r) => ({ id: r.image_id, filename: r.file_path, annotations: [] }));
    if (rows.length < pageSize) return;
    after = rows[rows.length - 1]!.file_path;
  }
}

/** The run's golden questions (a project has few: they are annotated by an expert). */
export async function inferenceGoldenImages(db: Db, runId: string): Promise<string[]> {
  const { rows } = await db.query<{ image_id: string }>('SELECT image_id FROM inference_images WHERE run_id = $1 AND golden_question', [runId]);
  return rows.map((r) => r.image_id);
}

/** The paths of the run's images among `ids` (the unreadable ones, to name them). */
export async function inferenceImagePaths(db: Db, runId: string, ids: readonly string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<{ image_id: string; file_path: string }>(
    'SELECT image_id, file_path FROM inference_images WHERE run_id = $1 AND image_id = ANY($2)', [runId, [...ids]]);
  return new Map(rows.map((r) => [r.image_id, r.file_path]));
}

/** Marks the run's images as read, or unreadable and why (only rows that change are written). */
export async function recordInferenceReads(db: Db, project: string, runId: string, unreadable: readonly UnreadableImage[]): Promise<void> {
  await db.query(
    `UPDATE images i SET unreadable_reason = coalesce(u.reason, '')
     FROM inference_images j LEFT JOIN unnest($3::uuid[], $4::text[]) AS u(id, reason) ON u.id = j.image_id
     WHERE j.run_id = $2 AND i.id = j.image_id AND i.project = $1 AND i.unreadable_reason IS DISTINCT FROM coalesce(u.reason, '')`,
    [project, runId, unreadable.map((u) => u.imageId), unreadable.map((u) => u.reason)],
  );
}

/** Drops the run's images (it failed, or was committed). */
export async function discardInferenceImages(db: Db, runId: string): Promise<void> {
  await db.query('DELETE FROM inference_images WHERE run_id = $1', [runId]);
}

/** In the committing transaction, last: the job is done, so what earlier runs of it left (a controller that crashed mid-run) goes too. */
export async function forgetInferenceImages(db: Db, jobId: string): Promise<void> {
  await db.query('DELETE FROM inference_images WHERE job_id = $1', [jobId]);
}

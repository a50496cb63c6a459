import { notFound } from '../../../libs/errors.js';
import type { Image, ImageWithAnnotations, PageQuery } from '../domain.js';
import { annotationsOfImages } from './annotations.js';
import { type Db, inTransaction, int } from './db.js';

interface ImageRow {
  id: string;
  project: string;
  file_path: string;
  width: number;
  height: number;
  size_bytes: string;
  added_at: Date;
  last_viewed_at: Date | null;
  golden_question: boolean;
  unreadable_reason: string;
  annotation_count: number;
  has_predictions: boolean;
}

const toImage = (r: ImageRow): Image => ({
  id: r.id,
  project: r.project,
  filePath: r.file_path,
  width: r.width,
  height: r.height,
  sizeBytes: int(r.size_bytes),
  addedAt: r.added_at,
  lastViewedAt: r.last_viewed_at,
  goldenQuestion: r.golden_question,
  annotationCount: r.annotation_count,
  hasPredictions: r.has_predictions,
  unreadableReason: r.unreadable_reason,
});

/** Images with their annotation count and whether the current state predicted them. `$1` is the project. */
const SELECT_IMAGES = `
  SELECT i.*,
    (SELECT count(*) FROM annotations a WHERE a.image_id = i.id)::int AS annotation_count,
    EXISTS (SELECT 1 FROM predictions p WHERE p.image_id = i.id AND p.state_id = pr.current_state_id) AS has_predictions
  FROM images i JOIN projects pr ON pr.name = i.project
  WHERE i.project = $1`;

export interface NewImage {
  filePath: string;
  sizeBytes: number;
  width: number;
  height: number;
  /** Why the FileServer could not read it as an image; absent or '' when it could. */
  unreadableReason?: string;
}

/** Inserts the images whose path the project does not know yet; returns how many were added. */
export async function insertImages(db: Db, project: string, images: readonly NewImage[]): Promise<number> {
  if (images.length === 0) return 0;
  const { rowCount } = await db.query(
    `INSERT INTO images (project, file_path, size_bytes, width, height, unreadable_reason)
     SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::int[], $5::int[], $6::text[])
     ON CONFLICT (project, file_path) DO NOTHING`,
    [project, images.map((i) => i.filePath), images.map((i) => i.sizeBytes), images.map((i) => i.width), images.map((i) => i.height),
      images.map((i) => i.unreadableReason ?? '')],
  );
  return rowCount ?? 0;
}

/** An image a job could not read, and why. */
export interface ImageReadFailure {
  imageId: string;
  reason: string;
}

/** Images a training job could not read get their reason (an inference run also clears it: store/inference-images.ts). One statement. */
export async function markUnreadable(db: Db, project: string, unreadable: readonly ImageReadFailure[]): Promise<void> {
  if (unreadable.length === 0) return;
  await db.query(
    `UPDATE images i SET unreadable_reason = u.reason
     FROM unnest($2::uuid[], $3::text[]) AS u(id, reason)
     WHERE i.id = u.id AND i.project = $1 AND i.unreadable_reason IS DISTINCT FROM u.reason`,
    [project, unreadable.map((u) => u.imageId), unreadable.map((u) => u.reason)],
  );
}

/** Which of `paths` the project already has. */
export async function knownImagePaths(db: Db, project: string, paths: readonly string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ file_path: string }>(
    'SELECT file_path FROM images WHERE project = $1 AND file_path = ANY($2)', [project, [...paths]]);
  return new Set(rows.map((r) => r.file_path));
}

export async function getImage(db: Db, project: string, id: string): Promise<Image> {
  const { rows } = await db.query<ImageRow>(`${SELECT_IMAGES} AND i.id = $2`, [project, id]);
  if (!rows[0]) throw notFound(`image ${id}`);
  return toImage(rows[0]);
}

/** The project's images among `ids`; NOT_FOUND naming the first id that is not one of them. */
export async function imagesByIds(db: Db, project: string, ids: readonly string[]): Promise<Map<string, Image>> {
  const unique = [...new Set(ids)];
  const { rows } = await db.query<ImageRow>(`${SELECT_IMAGES} AND i.id = ANY($2)`, [project, unique]);
  const found = new Map(rows.map((r) => [r.id, toImage(r)]));
  const missing = unique.find((id) => !found.has(id));
  if (missing !== undefined) throw notFound(`image ${missing}`);
  return found;
}

/** Tri-state filters: undefined = either. */
export interface ImageFilter {
  annotated?: boolean;
  hasPredictions?: boolean;
  goldenQuestion?: boolean;
}

/** Images by file path, filtered. */
export async function listImages(db: Db, project: string, filter: ImageFilter, page: PageQuery): Promise<Image[]> {
  const { rows } = await db.query<ImageRow>(
    `SELECT * FROM (${SELECT_IMAGES}) t
     WHERE ($2::boolean IS NULL OR (annotation_count > 0) = $2)
       AND ($3::boolean IS NULL OR has_predictions = $3)
       AND ($4::boolean IS NULL OR golden_question = $4)
       AND ($5::text IS NULL OR file_path > $5)
     ORDER BY file_path LIMIT $6`,
    [project, filter.annotated ?? null, filter.hasPredictions ?? null, filter.goldenQuestion ?? null, page.after ?? null, page.limit],
  );
  return rows.map(toImage);
}

/** Marks or unmarks images as golden questions; all-or-nothing: an id outside the project is NOT_FOUND. */
export function setGoldenQuestions(db: Db, project: string, ids: readonly string[], golden: boolean): Promise<number> {
  return inTransaction(db, async (client) => {
    await imagesByIds(client, project, ids);
    const { rowCount } = await client.query(
      'UPDATE images SET golden_question = $3 WHERE project = $1 AND id = ANY($2)', [project, [...new Set(ids)], golden]);
    return rowCount ?? 0;
  });
}

export interface TrainingSelection {
  /** Images need at least this many annotations (at least 1). */
  minAnnotations: number;
  /** At most this many images, most recently annotated first; 0 = all. */
  maxImages: number;
  /** Only these images (still subject to minAnnotations). */
  imageIds?: readonly string[];
}

/** The images a training job learns from, with their annotations: the worker's data dict. */
export async function trainingImages(db: Db, project: string, sel: TrainingSelection): Promise<ImageWithAnnotations[]> {
  const { rows } = await db.query<{ id: string; file_path: string }>(
    `SELECT i.id, i.file_path FROM images i JOIN annotations a ON a.image_id = i.id
     WHERE i.project = $1 AND ($2::uuid[] IS NULL OR i.id = ANY($2))
     GROUP BY i.id HAVING count(*) >= greatest($3, 1)
     ORDER BY max(a.created_at) DESC, i.id
     LIMIT $4`,
    [project, sel.imageIds ? [...sel.imageIds] : null, sel.minAnnotations, sel.maxImages > 0 ? sel.maxImages : null],
  );
  const annotations = await annotationsOfImages(db, rows.map((r) => r.id));
  return rows.map((r) => ({ id: r.id, filePath: r.file_path, annotations: annotations.get(r.id) ?? [] }));
}


import { notFound } from '../../../libs/errors.js';
import type { Annotation, AnnotationInput, PageQuery } from '../domain.js';
import { type Db, inTransaction } from './db.js';
import { addAnnotationsSinceTraining } from './projects.js';

interface AnnotationRow {
  id: string;
  image_id: string;
  label_class_id: string | null;
  kind: 'label' | 'point' | 'box' | 'mask';
  x: number | null;
  y: number | null;
  width: number | null;
  height: number | null;
  mask: Buffer | null;
  mask_width: number | null;
  mask_height: number | null;
  unsure: boolean;
  author: string;
  created_at: Date;
}

function geometryOf(r: AnnotationRow): Annotation['geometry'] {
  switch (r.kind) {
    case 'point': return { kind: 'point', x: r.x!, y: r.y! };
    case 'box': return { kind: 'box', x: r.x!, y: r.y!, width: r.width!, height: r.height! };
    case 'mask': return { kind: 'mask', data: r.mask!, width: r.mask_width!, height: r.mask_height! };
    default: return { kind: 'label' };
  }
}

const toAnnotation = (r: AnnotationRow): Annotation => ({
  id: r.id, imageId: r.image_id, labelClassId: r.label_class_id, unsure: r.unsure, author: r.author, createdAt: r.created_at, geometry: geometryOf(r),
});

/** The columns of an annotation after id, in COLUMNS order. */
function values(a: AnnotationInput): unknown[] {
  const g = a.geometry;
  const xy = g.kind === 'point' || g.kind === 'box' ? [g.x, g.y] : [null, null];
  const wh = g.kind === 'box' ? [g.width, g.height] : [null, null];
  const mask = g.kind === 'mask' ? [Buffer.from(g.data.buffer, g.data.byteOffset, g.data.byteLength), g.width, g.height] : [null, null, null];
  return [a.imageId, a.labelClassId, g.kind, ...xy, ...wh, ...mask, a.unsure, a.author];
}

const COLUMNS = 'image_id, label_class_id, kind, x, y, width, height, mask, mask_width, mask_height, unsure, author';

/**
 * Writes validated annotations all-or-nothing: without id inserted, with id
 * replacing that annotation (NOT_FOUND unless it is one of this project's).
 * Images must be the project's (the caller validated them). Counts them
 * towards the project's auto-train trigger.
 */
export function upsertAnnotations(db: Db, project: string, inputs: readonly AnnotationInput[]): Promise<Annotation[]> {
  return inTransaction(db, async (client) => {
    const out: Annotation[] = [];
    for (const a of inputs) {
      const v = values(a);
      if (a.id === undefined) {
        const { rows } = await client.query<AnnotationRow>(
          `INSERT INTO annotations (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`, v);
        out.push(toAnnotation(rows[0]!));
        continue;
      }
      const { rows } = await client.query<AnnotationRow>(
        `UPDATE annotations SET (${COLUMNS}) = ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         WHERE id = $1 AND image_id IN (SELECT id FROM images WHERE project = $14) RETURNING *`,
        [a.id, ...v, project],
      );
      if (!rows[0]) throw notFound(`annotation ${a.id}`);
      out.push(toAnnotation(rows[0]));
    }
    await addAnnotationsSinceTraining(client, project, inputs.length);
    return out;
  });
}

/** The project's annotations (of one image, or all) by id. */
export async function listAnnotations(db: Db, project: string, filter: { imageId?: string }, page: PageQuery): Promise<Annotation[]> {
  const { rows } = await db.query<AnnotationRow>(
    `SELECT a.* FROM annotations a JOIN images i ON i.id = a.image_id
     WHERE i.project = $1 AND ($2::uuid IS NULL OR a.image_id = $2) AND ($3::uuid IS NULL OR a.id > $3)
     ORDER BY a.id LIMIT $4`,
    [project, filter.imageId ?? null, page.after ?? null, page.limit],
  );
  return rows.map(toAnnotation);
}

/** Every annotation of these images, grouped by image. */
export async function annotationsOfImages(db: Db, imageIds: readonly string[]): Promise<Map<string, Annotation[]>> {
  const { rows } = await db.query<AnnotationRow>('SELECT * FROM annotations WHERE image_id = ANY($1) ORDER BY created_at, id', [[...imageIds]]);
  const byImage = new Map<string, Annotation[]>();
  for (const r of rows) {
    const list = byImage.get(r.image_id) ?? [];
    list.push(toAnnotation(r));
    byImage.set(r.image_id, list);
  }
  return byImage;
}

/** Deletes all-or-nothing: an id that is not one of this project's annotations is NOT_FOUND. */
export function deleteAnnotations(db: Db, project: string, ids: readonly string[]): Promise<number> {
  return inTransaction(db, async (client) => {
    const unique = [...new Set(ids)];
    const { rows } = await client.query<{ id: string }>(
      `DELETE FROM annotations a USING images i
       WHERE a.image_id = i.id AND i.project = $1 AND a.id = ANY($2) RETURNING a.id`, [project, unique]);
    const deleted = new Set(rows.map((r) => r.id));
    const missing = unique.find((id) => !deleted.has(id));
    if (missing !== undefined) throw notFound(`annotation ${missing}`);
    return deleted.size;
  });
}

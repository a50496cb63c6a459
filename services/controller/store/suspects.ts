/**
 * Suspect annotations: image labels a state's predictions confidently
 * contradict. An image's verdict is its top-confidence label prediction of
 * the state; each label annotation of an image whose verdict names none of
 * its annotated classes is a suspect, scored by the verdict's confidence
 * (mistakenness). One query over the project's label annotations and the
 * state's predictions, ordered and paged in the database.
 */
import type { PageQuery } from '../domain.js';
import type { Db } from './db.js';

export interface SuspectAnnotation {
  annotationId: string;
  imageId: string;
  filePath: string;
  predictedLabelClassId: string;
  predictedConfidence: number;
  mistakenness: number;
}

/** A page cursor: the last suspect's mistakenness and annotation id (the listing's order). */
export const suspectCursor = (s: SuspectAnnotation): string => JSON.stringify([s.mistakenness, s.annotationId]);

/** Most suspicious first (ties by annotation id), at least `minMistakenness`, one keyset page after `page.after`. */
export async function suspectAnnotations(db: Db, project: string, stateId: string, minMistakenness: number, page: PageQuery): Promise<SuspectAnnotation[]> {
  const [afterScore, afterId] = page.after === undefined ? [null, null] : JSON.parse(page.after) as [number, string];
  const { rows } = await db.query<{
    annotation_id: string; image_id: string; file_path: string; predicted: string; confidence: number;
  }>(
    `WITH verdict AS (
       SELECT DISTINCT ON (p.image_id) p.image_id, p.label_class_id, p.confidence
       FROM predictions p JOIN images i ON i.id = p.image_id
       WHERE i.project = $1 AND p.state_id = $2 AND p.kind = 'label' AND p.label_class_id IS NOT NULL
       ORDER BY p.image_id, p.confidence DESC, p.id)
     SELECT a.id AS annotation_id, a.image_id, i.file_path, v.label_class_id AS predicted, v.confidence
     FROM annotations a JOIN images i ON i.id = a.image_id JOIN verdict v ON v.image_id = a.image_id
     WHERE i.project = $1 AND a.kind = 'label' AND a.label_class_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM annotations b WHERE b.image_id = a.image_id AND b.kind = 'label' AND b.label_class_id = v.label_class_id)
       AND v.confidence >= $3
       AND ($4::float8 IS NULL OR v.confidence < $4 OR (v.confidence = $4 AND a.id > $5::uuid))
     ORDER BY v.confidence DESC, a.id LIMIT $6`,
    [project, stateId, minMistakenness, afterScore, afterId, page.limit]);
  return rows.map((r) => ({
    annotationId: r.annotation_id, imageId: r.image_id, filePath: r.file_path,
    predictedLabelClassId: r.predicted, predictedConfidence: r.confidence, mistakenness: Math.min(1, Math.max(0, r.confidence)),
  }));
}

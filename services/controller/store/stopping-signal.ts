/**
 * The stopping signal of each state: how many of the unannotated images it
 * and the state before it both predicted changed their top-confidence class
 * (a model that stops changing its mind stops gaining from labels), beside
 * its held-out accuracy and that accuracy's change. Computed when asked, from
 * the predictions as stored: one query for the whole project.
 */
import type { Db } from './db.js';

export interface StoppingSignal {
  stateId: string;
  version: number;
  /** The latest earlier version with predictions; null for the first. */
  previousStateId: string | null;
  previousVersion: number | null;
  comparedImages: number;
  changedImages: number;
  changedFraction: number;
  /** Statistics' heldOutAccuracy, where the model reports it. */
  heldOutAccuracy: number | null;
  /** Change since the latest earlier version that reported a held-out accuracy. */
  heldOutAccuracyDelta: number | null;
}

export async function stoppingSignals(db: Db, project: string): Promise<StoppingSignal[]> {
  const { rows } = await db.query<{
    state_id: string; version: number; previous_id: string | null; previous_version: number | null; compared: number; changed: number;
  }>(
    `WITH top AS (
       SELECT DISTINCT ON (p.state_id, p.image_id) p.state_id, p.image_id, p.label_class_id
       FROM predictions p JOIN images i ON i.id = p.image_id JOIN model_states s ON s.id = p.state_id
       WHERE i.project = $1 AND s.version IS NOT NULL AND p.kind <> 'segmentation'
         AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.image_id = p.image_id)
       ORDER BY p.state_id, p.image_id, p.confidence DESC, p.id),
     predicted AS (
       SELECT s.id, s.version, lag(s.id) OVER (ORDER BY s.version) AS previous_id, lag(s.version) OVER (ORDER BY s.version) AS previous_version
       FROM model_states s WHERE s.project = $1 AND s.version IS NOT NULL AND EXISTS (SELECT 1 FROM top t WHERE t.state_id = s.id))
     SELECT s.id AS state_id, s.version, s.previous_id, s.previous_version,
            count(b.image_id)::int AS compared,
            count(b.image_id) FILTER (WHERE a.label_class_id IS DISTINCT FROM b.label_class_id)::int AS changed
     FROM predicted s
     LEFT JOIN top a ON a.state_id = s.id
     LEFT JOIN top b ON b.state_id = s.previous_id AND b.image_id = a.image_id
     GROUP BY s.id, s.version, s.previous_id, s.previous_version
     ORDER BY s.version`,
    [project]);
  const { rows: accuracy } = await db.query<{ id: string; version: number; acc: number | null }>(
    `SELECT id, version, (stats ->> 'heldOutAccuracy')::float8 AS acc FROM model_states
     WHERE project = $1 AND version IS NOT NULL ORDER BY version`, [project]);
  // Each state's held-out accuracy, and the change from the latest earlier state that reported one.
  const accuracyOf = new Map<string, { acc: number | null; delta: number | null }>();
  let last: number | null = null;
  for (const r of accuracy) {
    const acc = r.acc !== null && Number.isFinite(r.acc) ? r.acc : null;
    accuracyOf.set(r.id, { acc, delta: acc !== null && last !== null ? acc - last : null });
    if (acc !== null) last = acc;
  }
  return rows.map((r) => ({
    stateId: r.state_id, version: r.version, previousStateId: r.previous_id, previousVersion: r.previous_version,
    comparedImages: r.compared, changedImages: r.changed, changedFraction: r.compared > 0 ? r.changed / r.compared : 0,
    heldOutAccuracy: accuracyOf.get(r.state_id)?.acc ?? null, heldOutAccuracyDelta: accuracyOf.get(r.state_id)?.delta ?? null,
  }));
}

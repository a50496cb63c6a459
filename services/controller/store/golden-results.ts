import type { AnnotationType } from '../domain.js';
import type { GoldenCounts } from '../golden-accuracy.js';
import { type Db, int } from './db.js';

/** A state's golden-question counts, summed over the images it was scored on. */
export interface GoldenAccuracy extends GoldenCounts {
  stateId: string;
  version: number;
  predictionType: AnnotationType;
  images: number;
  /** When the latest of its images was scored. */
  computedAt: Date;
}

/**
 * Replaces the state's results for these golden questions: `scored` holds the
 * images that could be scored; the others of `imageIds` lose any earlier
 * result (their annotations no longer allow one).
 */
export async function replaceGoldenResults(
  db: Db, stateId: string, predictionType: AnnotationType, imageIds: readonly string[], scored: ReadonlyMap<string, GoldenCounts>,
): Promise<void> {
  await db.query('DELETE FROM golden_results WHERE state_id = $1 AND image_id = ANY($2::uuid[])', [stateId, [...imageIds]]);
  if (scored.size === 0) return;
  const rows = [...scored];
  await db.query(
    `INSERT INTO golden_results (state_id, image_id, prediction_type, matched, predicted, annotated)
     SELECT $1, u.id, $2, u.m, u.p, u.a FROM unnest($3::uuid[], $4::bigint[], $5::bigint[], $6::bigint[]) AS u(id, m, p, a)`,
    [stateId, predictionType, rows.map(([id]) => id), rows.map(([, c]) => c.matched), rows.map(([, c]) => c.predicted), rows.map(([, c]) => c.annotated)],
  );
}

/** Every complete state's accuracy on the images that are golden questions now, by version. */
export async function goldenAccuracy(db: Db, project: string): Promise<GoldenAccuracy[]> {
  const { rows } = await db.query<{
    state_id: string; version: number; prediction_type: AnnotationType; images: number; matched: string; predicted: string; annotated: string; computed_at: Date;
  }>(
    `SELECT s.id AS state_id, s.version, min(g.prediction_type) AS prediction_type, count(*)::int AS images,
            sum(g.matched) AS matched, sum(g.predicted) AS predicted, sum(g.annotated) AS annotated, max(g.computed_at) AS computed_at
     FROM golden_results g
       JOIN model_states s ON s.id = g.state_id
       JOIN images i ON i.id = g.image_id
     WHERE s.project = $1 AND NOT s.partial AND i.golden_question
     GROUP BY s.id, s.version ORDER BY s.version`, [project]);
  return rows.map((r) => ({
    stateId: r.state_id, version: r.version, predictionType: r.prediction_type, images: r.images,
    matched: int(r.matched), predicted: int(r.predicted), annotated: int(r.annotated), computedAt: r.computed_at,
  }));
}

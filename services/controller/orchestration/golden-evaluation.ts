import type pg from 'pg';
import type { AnnotationType } from '../domain.js';
import { goldenCounts, type GoldenCounts } from '../golden-accuracy.js';
import { annotationsOfImages } from '../store/annotations.js';
import { replaceGoldenResults } from '../store/golden-results.js';
import { predictionsOfState } from '../store/predictions.js';

/**
 * Scores a state on the golden questions an inference run just predicted:
 * each image's counts (see golden-accuracy.ts) replace the state's earlier
 * ones for that image; the state's accuracy is their sum.
 */
export async function scoreGoldenQuestions(
  client: pg.PoolClient, project: string, stateId: string, predictionType: AnnotationType, imageIds: readonly string[],
): Promise<number> {
  if (imageIds.length === 0) return 0;
  const annotations = await annotationsOfImages(client, imageIds);
  const predictions = new Map((await predictionsOfState(client, project, stateId, imageIds)).map((p) => [p.imageId, p.predictions]));
  const scored = new Map<string, GoldenCounts>();
  for (const id of imageIds) {
    const counts = goldenCounts(predictionType, annotations.get(id) ?? [], predictions.get(id) ?? []);
    if (counts) scored.set(id, counts);
  }
  await replaceGoldenResults(client, stateId, predictionType, imageIds, scored);
  return scored.size;
}

/**
 * How a batch ranker's selection becomes priorities (see BatchRanker), shared
 * by the Ranker service and in-process runs (scripts/test-model-locally.ts).
 */
import type { RankData } from './data.js';
import { isBatchRanker, type BatchRanker, type PoolSelection, type RankExtra, type Ranker, type UpdateState } from './plugin.js';

/**
 * Priority of every candidate: the i-th of k selected gets 1 − i / 2k, every
 * other one 0.5 × rest(id), an annotated one 0. Throws where the ranker
 * selected an image twice, one outside the pool or an annotated one, or gave
 * a priority outside [0, 1].
 */
export function selectionPriorities(selection: PoolSelection, pool: readonly { imageId: string; annotated: boolean }[], ranker: string): Map<string, number> {
  const annotated = new Map(pool.map((c) => [c.imageId, c.annotated]));
  const priorities = new Map<string, number>();
  const k = selection.selected.length;
  selection.selected.forEach((id, i) => {
    if (!annotated.has(id)) throw new Error(`ranker '${ranker}' selected image ${id}, which is not in the pool`);
    if (annotated.get(id)) throw new Error(`ranker '${ranker}' selected image ${id}, which is annotated`);
    if (priorities.has(id)) throw new Error(`ranker '${ranker}' selected image ${id} twice`);
    priorities.set(id, 1 - i / (2 * k));
  });
  for (const { imageId, annotated: isAnnotated } of pool) {
    if (priorities.has(imageId)) continue;
    const rest = isAnnotated ? 0 : (selection.rest?.(imageId) ?? 0);
    if (!(rest >= 0 && rest <= 1)) throw new Error(`ranker '${ranker}' gave image ${imageId} the priority ${rest}, outside [0, 1]`);
    priorities.set(imageId, 0.5 * rest);
  }
  return priorities;
}

/**
 * Ranks data held in memory with either kind of ranker: a Ranker ranks it,
 * a BatchRanker selects over it as a one-batch pool and each prediction gets
 * its image's priority. `name` names the ranker in errors.
 */
export async function rankInMemory(ranker: Ranker | BatchRanker, data: RankData, updateState: UpdateState, extra?: RankExtra, name = 'ranker'): Promise<RankData> {
  if (!isBatchRanker(ranker)) return ranker.rank(data, updateState, extra);
  async function* pool(): AsyncGenerator<RankData> { yield data; }
  const selection = await ranker.selectBatch(pool(), updateState, { ...extra, poolSize: Object.keys(data).length });
  const priorities = selectionPriorities(selection, Object.entries(data).map(([imageId, image]) => ({ imageId, annotated: image.annotated ?? false })), name);
  for (const [imageId, image] of Object.entries(data)) {
    for (const prediction of image.predictions) prediction.priority = priorities.get(imageId)!;
  }
  return data;
}

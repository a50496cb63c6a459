/**
 * The Rank call with a BatchRanker: the pool goes to the ranker batch by
 * batch as it arrives (the ranker keeps its compact form: an embedding row, a
 * score), while this side keeps only each image's id and its predictions'
 * ids; once the ranker has read the whole pool it returns its joint
 * selection, and every image goes back with its predictions' priorities.
 *
 * Priorities follow the selection (PoolSelection): the i-th of k selected
 * images gets 1 − i / 2k, in (0.5, 1]; every other candidate 0.5 × rest(id),
 * in [0, 0.5]; annotated images 0; each prediction its image's priority. So
 * NextBatch, highest priority first, lists the batch in selection order, then
 * the rest in the ranker's order.
 *
 * The predictions going back carry their ids and priorities only (what the
 * caller stores), not their geometry or logits: those were given to the
 * ranker and dropped, so memory grows with the pool by its ids alone.
 */
import { pushable } from 'it-pushable';
import { JobState, type ImagePredictions, type Prediction } from '../../libs/gen/aide/v1/common.js';
import type { RankHeader, RankResponse } from '../../libs/gen/aide/v1/ranker.js';
import type { RankData } from '../../libs/plugin/data.js';
import type { BatchRanker } from '../../libs/plugin/plugin.js';
import { selectionPriorities } from '../../libs/plugin/pool-selection.js';
import { imagePredictionsPayloads } from '../../libs/wire/image-predictions-parts.js';
import type { RankProgress } from './progress.js';
import { toRankData } from './rank-input.js';

/** What is kept of a candidate to answer with: its predictions' ids (and their state). */
interface Kept {
  imageId: string;
  annotated: boolean;
  modelStateId: string;
  predictionIds: string[];
}

const slimPrediction = (id: string, imageId: string, modelStateId: string, priority: number): Prediction => ({
  id, imageId, modelStateId, labelClassId: '', confidence: 0, logits: [], priority, geometry: undefined,
});

export async function* selectStream(
  ranker: BatchRanker, batches: AsyncIterable<ImagePredictions[]>, header: RankHeader, progress: RankProgress, signal: AbortSignal,
): AsyncGenerator<RankResponse> {
  const kept: Kept[] = [];
  // One bar over both phases: reading the pool is its first half, the ranker's selection the second.
  const total = () => 2 * Math.max(header.numImages, progress.done, 1);
  const events = pushable<RankResponse>({ objectMode: true });
  let drained = false;
  async function* pool(): AsyncGenerator<RankData> {
    for await (const batch of batches) {
      const data = toRankData(batch, progress.done);
      for (const image of batch) {
        kept.push({ imageId: image.imageId, annotated: image.annotated, modelStateId: image.predictions[0]?.modelStateId ?? '', predictionIds: image.predictions.map((p) => p.id) });
      }
      progress.done += batch.length;
      events.push(progress.event(JobState.JOB_STATE_RUNNING, 'PROGRESS', 'reading the candidates', progress.done, total()));
      yield data;
    }
    drained = true;
  }
  const selecting = ranker.selectBatch(pool(), (state, message, done, of) => {
    const half = total() / 2;
    const fraction = of ? Math.min(1, (done ?? 0) / of) : 0;
    events.push(progress.event(JobState.JOB_STATE_RUNNING, state, message ?? 'selecting', Math.round(half + half * fraction), total()));
  }, { signal, poolSize: header.numImages }).finally(() => events.end());
  // Awaited below; a caller that stops reading first (a cancelled call) must not leave its failure unhandled.
  selecting.catch(() => {});
  for await (const event of events) yield event;
  const selection = await selecting;
  if (!drained) throw new Error(`ranker '${header.rankerLibrary}' returned before reading the whole pool`);

  const priorities = selectionPriorities(selection, kept, header.rankerLibrary);
  for (const image of kept) {
    const priority = priorities.get(image.imageId)!;
    const out: ImagePredictions = {
      imageId: image.imageId,
      predictions: image.predictionIds.map((id) => slimPrediction(id, image.imageId, image.modelStateId, priority)),
      embedding: undefined,
      annotated: image.annotated,
    };
    for await (const part of imagePredictionsPayloads(out, 'image', 'imageChunk')) yield { payload: part };
  }
  yield progress.event(JobState.JOB_STATE_SUCCEEDED, 'SUCCESS', `selected ${selection.selected.length} of ${kept.length} images`, total(), total());
}

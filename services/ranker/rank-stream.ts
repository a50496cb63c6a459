/**
 * The Rank call: a header, then images in; the same images with priorities
 * and progress events out. A Ranker ranks images in batches as they arrive,
 * so large jobs stream instead of piling up in memory; a BatchRanker reads
 * the whole pool batch by batch and selects jointly (select-stream.ts).
 */
import { invalidArgument, invalidField } from '../../libs/errors.js';
import { JobState, type ImagePredictions } from '../../libs/gen/aide/v1/common.js';
import type { RankHeader, RankRequest, RankResponse } from '../../libs/gen/aide/v1/ranker.js';
import type { PluginContext } from '../../libs/plugin/context.js';
import type { Prediction } from '../../libs/plugin/data.js';
import { isBatchRanker, type BatchRanker, type Ranker } from '../../libs/plugin/plugin.js';
import type { Registry } from '../../libs/plugin/registry.js';
import { imagePredictionsPayloads } from '../../libs/wire/image-predictions-parts.js';
import { predictionToProto } from '../../libs/wire/predictions.js';
import { annotationTypeFromProto } from '../../libs/wire/plugin-info.js';
import { progressEvents } from './progress.js';
import { imageBatches, toRankData } from './rank-input.js';
import { selectStream } from './select-stream.js';

export interface RankStreamDeps {
  registry: Registry;
  /** Everything of a ranker's context except options, for a project. */
  contextFor(project: string): Omit<PluginContext, 'options'>;
  /** Images per rank() call (default 256). */
  batchImages?: number;
}

const DEFAULT_BATCH_IMAGES = 256;

/** Looks up the ranker, checks its options and prediction type, and constructs it. */
async function openRanker(header: RankHeader, deps: RankStreamDeps): Promise<Ranker | BatchRanker> {
  const { meta, ctor } = deps.registry.getRanker(header.rankerLibrary);
  const type = annotationTypeFromProto(header.predictionType);
  if (type && !meta.predictionTypes.includes(type)) {
    throw invalidField('header.prediction_type', `ranker '${meta.key}' does not rank ${type} (only ${meta.predictionTypes.join(', ')})`);
  }
  const verified = await deps.registry.verifyOptions(meta.key, header.rankerOptionsJson);
  if (!verified.valid) {
    throw invalidArgument(verified.errors.map((description) => ({ field: 'header.ranker_options_json', description })));
  }
  return new ctor({ ...deps.contextFor(header.project), options: verified.options });
}

export async function* rankStream(requests: AsyncIterable<RankRequest>, signal: AbortSignal, deps: RankStreamDeps): AsyncIterable<RankResponse> {
  const iterator = requests[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done || first.value.payload?.$case !== 'header') throw invalidField('header', 'the first message must be the header');
  const header = first.value.payload.value;
  const ranker = await openRanker(header, deps);
  const batches = imageBatches(iterator, deps.batchImages ?? DEFAULT_BATCH_IMAGES, signal);
  const progress = progressEvents(header);
  if (isBatchRanker(ranker)) {
    yield* selectStream(ranker, batches, header, progress, signal);
    return;
  }
  const scorer: Ranker = ranker;

  async function* rankBatch(batch: ImagePredictions[]): AsyncIterable<RankResponse> {
    const data = toRankData(batch, progress.done);
    // The ranker's last word in this batch travels with the batch's progress event.
    let last = { state: 'PROGRESS', message: 'ranking' };
    const ranked = await scorer.rank(data, (state, message) => { last = { state, message: message ?? last.message }; }, { signal });
    for (const image of batch) {
      const predictions = ranked[image.imageId]?.predictions;
      if (predictions?.length !== image.predictions.length) {
        throw new Error(`ranker '${header.rankerLibrary}' returned ${predictions?.length ?? 'no'} predictions for image ${image.imageId}, expected ${image.predictions.length}`);
      }
      const toProto = (p: Prediction, j: number) =>
        predictionToProto(p, { imageId: image.imageId, modelStateId: image.predictions[j]!.modelStateId });
      // The embedding stays behind: the caller has it, and wants the priorities.
      const out: ImagePredictions = { imageId: image.imageId, predictions: predictions.map(toProto), embedding: undefined, annotated: image.annotated };
      for await (const part of imagePredictionsPayloads(out, 'image', 'imageChunk')) yield { payload: part };
    }
    progress.done += batch.length;
    yield progress.event(JobState.JOB_STATE_RUNNING, last.state, last.message);
  }

  for await (const batch of batches) yield* rankBatch(batch);
  yield progress.event(JobState.JOB_STATE_SUCCEEDED, 'SUCCESS', `ranked ${progress.done} images`);
}

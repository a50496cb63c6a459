/**
 * The Rank call: a header, then images in; the same images with priorities
 * and progress events out. A Ranker ranks images in batches as they arrive,
 * so large jobs stream instead of piling up in memory; a BatchRanker reads
 * the whole pool batch by batch and selects jointly (select-stream.ts).
 */
import { failedPrecondition, invalidArgument, invalidField } from '../../libs/errors.js';
import { JobState, type ImagePredictions } from '../../libs/gen/aide/v1/common.js';
import type { PredictionColumns as WireColumns, RankHeader, RankRequest, RankResponse } from '../../libs/gen/aide/v1/ranker.js';
import type { PluginContext } from '../../libs/plugin/context.js';
import type { Prediction, PredictionColumns } from '../../libs/plugin/data.js';
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

/** A columns message as the plugin sees it; INVALID_ARGUMENT where its columns disagree in length. */
function columnsFromWire(m: WireColumns): PredictionColumns {
  if (m.ids.length % 16 !== 0) throw invalidField('columns.ids', 'must be 16 bytes a prediction');
  const count = m.ids.length / 16;
  if (m.confidence.length !== count || m.logitsCount.length !== count) {
    throw invalidField('columns', `${count} ids, ${m.confidence.length} confidences and ${m.logitsCount.length} logits counts`);
  }
  const logitsStart = new Uint32Array(count + 1);
  for (let i = 0; i < count; i++) logitsStart[i + 1] = logitsStart[i]! + m.logitsCount[i]!;
  if (logitsStart[count] !== m.logits.length) throw invalidField('columns.logits', `${m.logits.length} logits, the counts add up to ${logitsStart[count]}`);
  return { count, confidence: Float64Array.from(m.confidence), logits: Float64Array.from(m.logits), logitsStart };
}

/**
 * The columns form of the call (header.columns): each PredictionColumns
 * message ranked by the plugin's rankColumns at once and answered by its
 * PriorityColumns, then a progress event; counts are of predictions.
 */
async function* rankColumnStream(
  messages: AsyncIterator<RankRequest>, ranker: Ranker, progress: (done: number, last: boolean) => RankResponse, signal: AbortSignal,
): AsyncGenerator<RankResponse> {
  if (!ranker.rankColumns) throw failedPrecondition('this ranker does not rank columns (it has no rankColumns): send images');
  let done = 0;
  for (let next = await messages.next(); !next.done; next = await messages.next()) {
    signal.throwIfAborted();
    const payload = next.value.payload;
    if (payload?.$case !== 'columns') throw invalidField('columns', 'after a columns header, every message must be columns');
    const columns = columnsFromWire(payload.value);
    const priorities = new Float64Array(columns.count);
    ranker.rankColumns(columns, priorities);
    done += columns.count;
    yield { payload: { $case: 'priorities', value: { ids: payload.value.ids, priority: Array.from(priorities) } } };
    yield progress(done, false);
  }
  yield progress(done, true);
}

export async function* rankStream(requests: AsyncIterable<RankRequest>, signal: AbortSignal, deps: RankStreamDeps): AsyncIterable<RankResponse> {
  const iterator = requests[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done || first.value.payload?.$case !== 'header') throw invalidField('header', 'the first message must be the header');
  const header = first.value.payload.value;
  const ranker = await openRanker(header, deps);
  const progress = progressEvents(header);
  if (header.columns) {
    if (isBatchRanker(ranker)) throw failedPrecondition('a batch ranker selects over the whole pool: send images, not columns');
    // Counts are of predictions here.
    yield* rankColumnStream(iterator, ranker, (done, last) => last
      ? progress.event(JobState.JOB_STATE_SUCCEEDED, 'SUCCESS', `ranked ${done} predictions`, done)
      : progress.event(JobState.JOB_STATE_RUNNING, 'PROGRESS', 'ranking', done), signal);
    return;
  }
  const batches = imageBatches(iterator, deps.batchImages ?? DEFAULT_BATCH_IMAGES, signal);
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

/**
 * The Rank call: a header, then images in; the same images with priorities
 * and progress events out. Images are ranked in batches as they arrive, so
 * large jobs stream instead of piling up in memory.
 */
import { payload } from '../../libs/blob/index.js';
import { failedPrecondition, invalidArgument, invalidField } from '../../libs/errors.js';
import { JobState, type ImagePredictions, type ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import type { PredictionColumns as WireColumns, RankHeader, RankRequest, RankResponse } from '../../libs/gen/aide/v1/ranker.js';
import type { PluginContext } from '../../libs/plugin/context.js';
import type { Prediction, PredictionColumns, RankData } from '../../libs/plugin/data.js';
import type { Ranker } from '../../libs/plugin/plugin.js';
import type { Registry } from '../../libs/plugin/registry.js';
import { imagePredictionsPayloads, readImagePredictions } from '../../libs/wire/image-predictions-parts.js';
import { predictionFromProto, predictionToProto } from '../../libs/wire/predictions.js';
import { annotationTypeFromProto } from '../../libs/wire/plugin-info.js';

export interface RankStreamDeps {
  registry: Registry;
  /** Everything of a ranker's context except options, for a project. */
  contextFor(project: string): Omit<PluginContext, 'options'>;
  /** Images per rank() call (default 256). */
  batchImages?: number;
}

const DEFAULT_BATCH_IMAGES = 256;

/** Looks up the ranker, checks its options and prediction type, and constructs it. */
async function openRanker(header: RankHeader, deps: RankStreamDeps): Promise<Ranker> {
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
  const batchSize = deps.batchImages ?? DEFAULT_BATCH_IMAGES;

  let done = 0;
  let seq = 0;
  const progress = (state: JobState, modelState: string, message: string): RankResponse => ({
    payload: {
      $case: 'progress',
      value: {
        jobId: header.jobId, project: header.project, workerId: '', state, modelState, message,
        done, total: Math.max(header.numImages, done), time: new Date(), seq: ++seq,
      } satisfies ProgressEvent,
    },
  });

  if (header.columns) {
    yield* rankColumnStream(iterator, ranker, (predictions, last) => {
      done = predictions;
      return last ? progress(JobState.JOB_STATE_SUCCEEDED, 'SUCCESS', `ranked ${done} predictions`) : progress(JobState.JOB_STATE_RUNNING, 'PROGRESS', 'ranking');
    }, signal);
    return;
  }

  async function* rankBatch(batch: ImagePredictions[]): AsyncIterable<RankResponse> {
    const data: RankData = {};
    batch.forEach((image, i) => {
      data[image.imageId] = { predictions: image.predictions.map((p, j) => predictionFromProto(p, `images[${done + i}].predictions[${j}]`)) };
    });
    // The ranker's last word in this batch travels with the batch's progress event.
    let last = { state: 'PROGRESS', message: 'ranking' };
    const ranked = await ranker.rank(data, (state, message) => { last = { state, message: message ?? last.message }; }, { signal });
    for (const image of batch) {
      const predictions = ranked[image.imageId]?.predictions;
      if (predictions?.length !== image.predictions.length) {
        throw new Error(`ranker '${header.rankerLibrary}' returned ${predictions?.length ?? 'no'} predictions for image ${image.imageId}, expected ${image.predictions.length}`);
      }
      const toProto = (p: Prediction, j: number) =>
        predictionToProto(p, { imageId: image.imageId, modelStateId: image.predictions[j]!.modelStateId });
      const out = { imageId: image.imageId, predictions: predictions.map(toProto) };
      for await (const part of imagePredictionsPayloads(out, 'image', 'imageChunk')) yield { payload: part };
    }
    done += batch.length;
    yield progress(JobState.JOB_STATE_RUNNING, last.state, last.message);
  }

  let batch: ImagePredictions[] = [];
  const seen = new Set<string>();
  const images = readImagePredictions({ [Symbol.asyncIterator]: () => iterator }, { whole: payload('image'), chunk: payload('imageChunk') }, { signal });
  for await (const part of images) {
    signal.throwIfAborted();
    if (!('image' in part)) throw invalidField('header', 'only the first message may be the header');
    const { image } = part;
    if (seen.has(image.imageId)) throw invalidField('image.image_id', `image ${image.imageId} was sent twice`);
    seen.add(image.imageId);
    batch.push(image);
    if (batch.length >= batchSize) {
      yield* rankBatch(batch);
      batch = [];
    }
  }
  if (batch.length > 0) yield* rankBatch(batch);
  yield progress(JobState.JOB_STATE_SUCCEEDED, 'SUCCESS', `ranked ${done} images`);
}

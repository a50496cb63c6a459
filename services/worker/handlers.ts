import { freemem } from 'node:os';
import { pushable, type Pushable } from 'it-pushable';
import { cancelled, failedPrecondition, invalidField } from '../../libs/errors.js';
import { toChunks, type BlobFolder } from '../../libs/blob/index.js';
import type { ProgressPublisher } from '../../libs/bus/index.js';
import type { ImagePredictions, ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import type {
  AverageStatesRequest, AverageStatesResponse, GetCapabilitiesResponse, InferenceRequest, InferenceResponse,
  JobHeader, TrainRequest, TrainResponse, TrainResult, UnreadableImage, WorkerServiceService,
} from '../../libs/gen/aide/v1/worker.js';
import type { CallContext, ServiceHandlers } from '../../libs/grpc/index.js';
import type { InferenceResult } from '../../libs/plugin/data.js';
import type { AIModel, TrainResult as ModelTrainResult, UpdateState } from '../../libs/plugin/plugin.js';
import { encodedSizeBound, ImageLists, imagePredictionsPayloads, surelyFitsWhole } from '../../libs/wire/image-predictions-parts.js';
import { toWirePredictions } from '../../libs/wire/predictions.js';
import { toInferenceData, toTrainingData } from '../../libs/wire/training-data.js';
import { collectStates, openAveraging, readJobInput, streamStates } from './job-input.js';
import { createModel, type ModelFactoryDeps } from './model-factory.js';
import { runJob, type JobRun } from './run-job.js';
import type { JobSlots } from './slots.js';

export interface WorkerDeps extends ModelFactoryDeps {
  workerId: string;
  /** Where job progress goes: fire-and-forget, so a slow or absent bus never holds a job up. */
  progress: ProgressPublisher;
  slots: JobSlots;
  maxStateBytes: number;
  /** The state folder shared with the controller ([AIWorker] state_dir), once the controller has made it. */
  stateFolder: () => Promise<BlobFolder | undefined>;
  /** tfjs backend chosen at start. */
  backend: { name: string; gpu: boolean };
}

const progress = (value: ProgressEvent) => ({ payload: { $case: 'progress' as const, value } });

/** Where a job's new state goes when the controller asked for it in the shared folder (output_state_file). */
interface OutputFile {
  folder: BlobFolder;
  name: string;
  /** The call's: a caller that goes away stops the write, and its part is removed. */
  signal: AbortSignal;
}

/** The job's output file, checked before any work starts: FAILED_PRECONDITION where this worker shares no folder. */
function outputFile(header: JobHeader, folder: BlobFolder | undefined, signal: AbortSignal): OutputFile | undefined {
  if (!header.outputStateFile) return undefined;
  if (!folder) throw failedPrecondition(`the job asks for its state in file ${header.outputStateFile}, and this worker shares no state folder with its controller`);
  return { folder, name: header.outputStateFile, signal };
}

/** Pieces a written state is cut into (views, no copies): the folder flushes to disk between them, not all at the end. */
const WRITE_PIECE_BYTES = 16 << 20;

function* writePieces(state: Uint8Array | readonly Uint8Array[]): Generator<Uint8Array> {
  for (const piece of state instanceof Uint8Array ? [state] : state) {
    for (let at = 0; at < piece.byteLength; at += WRITE_PIECE_BYTES) yield piece.subarray(at, at + WRITE_PIECE_BYTES);
  }
}

/**
 * The new state (one buffer, or consecutive pieces) as the result header
 * followed by its chunks (train and average share the shape); or, where the
 * controller asked for it in the shared folder, written there as a part (on
 * disk, hashed as it is written) and announced by the result alone.
 */
async function* stateOut(state: Uint8Array | readonly Uint8Array[], meta: Omit<TrainResult, 'stateSize' | 'stateSha256'>, output: OutputFile | undefined): AsyncGenerator<TrainResponse> {
  if (output) {
    const written = await output.folder.write(output.name, (async function* () { yield* writePieces(state); })(), { signal: output.signal });
    yield { payload: { $case: 'result', value: { ...meta, stateSize: written.size, stateSha256: written.sha256 } } };
    return;
  }
  const stateSize = state instanceof Uint8Array ? state.length : state.reduce((n, piece) => n + piece.length, 0);
  yield { payload: { $case: 'result', value: { ...meta, stateSize, stateSha256: Buffer.alloc(0) } } };
  for await (const chunk of toChunks(state, { totalSize: stateSize })) yield { payload: { $case: 'stateChunk', value: chunk } };
}

type Progress = ReturnType<typeof progress>;

/**
 * A job's stream: what `body` yields (its progress and output), then the
 * final event; failures reported as FAILED/CANCELLED, and a caller that stops
 * reading mid-stream cancels the job (it still ends, CANCELLED, on the bus).
 */
async function* jobStream<T, R>(job: JobRun<T>, body: AsyncIterable<R | Progress>): AsyncGenerator<R | Progress> {
  let ended = false;
  try {
    yield* body;
    await job.result;
    const last = job.finish();
    ended = true;
    yield progress(last);
  } catch (err) {
    ended = true;
    throw job.fail(err);
  } finally {
    if (!ended) job.fail(cancelled('the caller stopped reading the job\'s stream'));
  }
}

/** Progress while the model works, then its output. */
function streamJob<T, R>(job: JobRun<T>, output: (result: T) => AsyncIterable<R>): AsyncGenerator<R | Progress> {
  return jobStream(job, (async function* () {
    for await (const e of job.events) yield progress(e);
    yield* output(await job.result);
  })());
}

/** Progress and output as the model produces them, in one stream (the work pushes its output into `output`; its progress joins it). */
function streamJobLive<R>(job: JobRun<void>, output: Pushable<R | Progress>): AsyncGenerator<R | Progress> {
  void (async () => {
    for await (const e of job.events) output.push(progress(e));
  })().finally(() => output.end());
  return jobStream(job, output);
}

/**
 * Responses queued for the caller before the model is asked for more, so memory stays bounded: lists of about
 * 1 MiB (ImageLists) and chunks of at most 4 MiB, so ~100 MB at worst; a built-in model's part of 256 small images is
 * one list.
 */
const MAX_QUEUED_RESPONSES = 24;

/**
 * Inference entries as response messages, in order: images' predictions
 * gathered whole into lists (ImageLists), an image too large for a message in
 * chunks, an unreadable image as such.
 */
async function* entryResponses(entries: Iterable<[string, InferenceResult[string] | undefined]>, header: JobHeader): AsyncGenerator<InferenceResponse> {
  const lists = new ImageLists();
  const listed = (images: ImagePredictions[]): InferenceResponse => ({ payload: { $case: 'predictionsList', value: { images } } });
  for (const [imageId, entry] of entries) {
    if (!entry) throw invalidField('predictions', `the model returned no entry for image ${imageId}`);
    if (entry.unreadable !== undefined) {
      const gathered = lists.take();
      if (gathered) yield listed(gathered);
      yield { payload: { $case: 'unreadable', value: { imageId, reason: entry.unreadable } } };
      continue;
    }
    const wire = toWirePredictions(imageId, entry, header.labelClasses);
    const bound = encodedSizeBound(wire);
    const whole = surelyFitsWhole(wire, bound);
    const full = whole ? lists.add(wire, bound) : lists.take();
    if (full) yield listed(full);
    if (!whole) for await (const part of imagePredictionsPayloads(wire, 'predictions', 'predictionsChunk')) yield { payload: part };
  }
  const rest = lists.take();
  if (rest) yield listed(rest);
}

/**
 * inferenceStream's parts sent on as they come, each image checked to be one
 * of the job's and sent once; the next part is asked for only once the
 * caller has taken most of what is queued.
 */
async function sendParts(
  parts: AsyncIterable<InferenceResult>, images: ReadonlySet<string>, header: JobHeader, output: Pushable<InferenceResponse>, signal: AbortSignal,
): Promise<void> {
  const remaining = new Set(images);
  for await (const part of parts) {
    const entries = Object.entries(part);
    for (const [imageId] of entries) {
      if (!remaining.delete(imageId)) {
        throw invalidField('predictions', `the model returned an entry for image ${imageId}, which is ${images.has(imageId) ? 'sent already' : 'not the job\'s'}`);
      }
    }
    for await (const response of entryResponses(entries, header)) output.push(response);
    if (output.readableLength > MAX_QUEUED_RESPONSES) await output.onEmpty({ signal });
  }
  const [missing] = remaining;
  if (missing !== undefined) throw invalidField('predictions', `the model returned no entry for image ${missing}`);
}

function splitTrainResult(result: ModelTrainResult): { state: Uint8Array; stats: Record<string, number>; unreadable: UnreadableImage[] } {
  if (result instanceof Uint8Array) return { state: result, stats: {}, unreadable: [] };
  const unreadable = Object.entries(result.unreadable ?? {}).map(([imageId, reason]) => ({ imageId, reason }));
  return { state: result.state, stats: result.stats ?? {}, unreadable };
}

const classMap = (header: JobHeader) => Object.fromEntries(header.labelClasses.map((c) => [c.id, c.index]));

/** A job's response stream while it holds one of the worker's slots (RESOURCE_EXHAUSTED when none is free). */
async function* inSlot<R>(slots: JobSlots, stream: () => AsyncIterable<R>): AsyncGenerator<R> {
  const release = slots.acquire();
  try {
    yield* stream();
  } finally {
    release();
  }
}

/** Plain functions behind WorkerService: stateless; everything arrives in the request. */
export function workerHandlers(deps: WorkerDeps): ServiceHandlers<typeof WorkerServiceService> {
  const jobOf = <T>(header: JobHeader, ctx: CallContext, work: (updateState: UpdateState, signal: AbortSignal) => Promise<T>) =>
    runJob<T>({ jobId: header.jobId, project: header.project, workerId: deps.workerId, progress: deps.progress, signal: ctx.signal, work });
  const limits = async (ctx: CallContext) => ({ maxStateBytes: deps.maxStateBytes, signal: ctx.signal, folder: await deps.stateFolder() });

  return {
    train: (requests: AsyncIterable<TrainRequest>, ctx) => inSlot(deps.slots, async function* (): AsyncGenerator<TrainResponse> {
      const limit = await limits(ctx);
      const input = await readJobInput(requests, limit);
      const output = outputFile(input.header, limit.folder, ctx.signal);
      const model = createModel(deps, input.header);
      const data = toTrainingData(input.images, input.header.labelClasses, { ignoreUnlabeled: input.header.ignoreUnlabeled });
      const job = jobOf(input.header, ctx, (updateState, signal) => model.train(input.state, data, updateState, signal));
      yield* streamJob(job, (result) => {
        const { state, stats, unreadable } = splitTrainResult(result);
        return stateOut(state, { stats, numImages: input.images.length - unreadable.length, labelClassMap: classMap(input.header), unreadable }, output);
      });
    }),

    inference: (requests: AsyncIterable<InferenceRequest>, ctx) => inSlot(deps.slots, async function* (): AsyncGenerator<InferenceResponse> {
      const input = await readJobInput(requests, await limits(ctx));
      const model: AIModel = createModel(deps, input.header);
      const data = toInferenceData(input.images, input.header.labelClasses, { ignoreUnlabeled: input.header.ignoreUnlabeled });
      const inferenceStream = model.inferenceStream?.bind(model);
      if (inferenceStream) {
        // Predictions leave as the model produces them.
        const output = pushable<InferenceResponse>({ objectMode: true });
        const images = new Set(input.images.map((i) => i.id));
        const job = jobOf(input.header, ctx, (updateState, signal) => sendParts(inferenceStream(input.state, data, updateState, signal), images, input.header, output, signal));
        yield* streamJobLive(job, output);
        return;
      }
      const job = jobOf(input.header, ctx, (updateState, signal) => model.inference(input.state, data, updateState, signal));
      yield* streamJob(job, async function* (predictions): AsyncGenerator<InferenceResponse> {
        yield* entryResponses(input.images.map((image) => [image.id, predictions[image.id]]), input.header);
      });
    }),

    averageStates: (requests: AsyncIterable<AverageStatesRequest>, ctx) => inSlot(deps.slots, async function* (): AsyncGenerator<AverageStatesResponse> {
      const request = await openAveraging(requests);
      const { header } = request;
      const limit = await limits(ctx);
      const output = outputFile(header, limit.folder, ctx.signal);
      const model = createModel(deps, header);
      let weights: number[];
      let work: (updateState: UpdateState, signal: AbortSignal) => Promise<Uint8Array | readonly Uint8Array[]>;
      const averageStreams = model.averageModelStateStreams?.bind(model);
      if (averageStreams) {
        // The states are combined as they arrive: none is ever held whole here.
        const input = streamStates(request, limit);
        weights = input.weights;
        work = async (updateState, signal) => {
          const state = await averageStreams(input.streams, updateState, signal);
          if (!input.allRead()) throw new Error(`the model returned before reading all ${request.numStates} states`);
          return state;
        };
      } else {
        const input = await collectStates(request, limit);
        weights = input.weights;
        work = (updateState, signal) => model.averageModelStates(input.states, updateState, input.weights, signal);
      }
      const job = jobOf(header, ctx, work);
      yield* streamJob(job, (state) => stateOut(state, { stats: {}, numImages: weights.reduce((x, y) => x + y, 0), labelClassMap: classMap(header), unreadable: [] }, output));
    }),

    async getCapabilities(): Promise<GetCapabilitiesResponse> {
      return {
        workerId: deps.workerId,
        backend: deps.backend.name,
        gpu: deps.backend.gpu,
        freeMemoryBytes: freemem(),
        runningJobs: deps.slots.running,
        maxConcurrentJobs: deps.slots.max,
        modelLibraries: [...deps.registry.models.keys()],
        stateFolderId: (await deps.stateFolder())?.id ?? '',
      };
    },
  };
}

import { payload, StreamParts, verifyAnnouncedChunks, type VerifiedPieces } from '../blob/index.js';
import type { BlobChunk, ImagePredictions, ProgressEvent } from '../gen/aide/v1/common.js';
import {
  WorkerServiceService, type AverageStatesRequest, type ImageData, type JobHeader, type TrainResult, type UnreadableImage,
} from '../gen/aide/v1/worker.js';
import { createClient, type CallOptions, type Client, type ClientOptions } from '../grpc/index.js';
import { dataLoss, resourceExhausted } from '../errors.js';
import { readImagePredictions } from '../wire/image-predictions-parts.js';
import { jobRequests, stateChunks, type ImagesInput, type StateInput } from './requests.js';

export type { StateInput, StreamedState } from './requests.js';

export type WorkerClient = Client<typeof WorkerServiceService>;

export function workerClient(address: string, opts?: ClientOptions): WorkerClient {
  return createClient(WorkerServiceService, address, opts);
}

export interface JobCallOptions extends CallOptions {
  onProgress?: (event: ProgressEvent) => void;
  maxStateBytes?: number;
}

export interface StateOutput {
  result: TrainResult;
  state: Buffer;
}

/**
 * Takes a worker's new state as it streams in: verified pieces of exactly
 * result.stateSize bytes (the last one after the SHA-256 checked out, which
 * `pieces.sha256` then holds), so a sink that stores them can keep the state
 * out of memory and need not hash it again.
 */
export type StateSink<T> = (result: TrainResult, pieces: VerifiedPieces) => Promise<T>;

type StateResponse = {
  payload?: { $case: 'progress'; value: ProgressEvent } | { $case: 'result'; value: TrainResult } | { $case: 'stateChunk'; value: BlobChunk } | undefined;
};

/** Reads a train/average response stream: progress to the callback, the result, and the state into the sink. */
async function readStateInto<T>(responses: AsyncIterable<StateResponse>, opts: JobCallOptions, sink: StateSink<T>): Promise<{ result: TrainResult; stored: T }> {
  const parts = new StreamParts(responses);
  let result: TrainResult | undefined;
  let stored: { value: T } | undefined;
  for (let message = await parts.peek(); message; message = await parts.peek()) {
    const p = message.payload;
    if (p?.$case === 'stateChunk') {
      if (!result) throw dataLoss('worker sent its state before the result announcing it');
      if (stored) throw dataLoss('worker sent a second state');
      const limit = opts.maxStateBytes ?? Number.MAX_SAFE_INTEGER;
      if (result.stateSize > limit) throw resourceExhausted(`worker announced a state of ${result.stateSize} bytes, the limit is ${limit}`);
      stored = { value: await sink(result, verifyAnnouncedChunks(parts.chunks(payload('stateChunk')), { size: result.stateSize, signal: opts.signal, what: 'the worker' })) };
      continue;
    }
    await parts.next();
    if (p?.$case === 'progress') opts.onProgress?.(p.value);
    else if (p?.$case === 'result') result = p.value;
  }
  if (!result || !stored) throw dataLoss('worker ended the stream without a complete state');
  return { result, stored: stored.value };
}

/** A sink holding the state in one buffer, allocated once (the pieces add up to stateSize: verified). */
async function inMemory(result: TrainResult, pieces: AsyncIterable<Buffer>): Promise<Buffer> {
  const out = Buffer.allocUnsafe(result.stateSize);
  let offset = 0;
  for await (const piece of pieces) offset += piece.copy(out, offset);
  return out;
}

const held = ({ result, stored }: { result: TrainResult; stored: Buffer }): StateOutput => ({ result, state: stored });

/** One training run on a worker, its new state handed to `sink` as it streams in. */
export function trainInto<T>(
  client: WorkerClient, header: Omit<JobHeader, 'numImages' | 'stateSize'>, images: readonly ImageData[], state: StateInput | null,
  sink: StateSink<T>, opts: JobCallOptions = {},
): Promise<{ result: TrainResult; stored: T }> {
  return readStateInto(client.train(jobRequests(header, images, state), opts), opts, sink);
}

/** One training run on a worker: the new state (verified) and the worker's result header. */
export function train(client: WorkerClient, header: Omit<JobHeader, 'numImages' | 'stateSize'>, images: readonly ImageData[], state: StateInput | null, opts: JobCallOptions = {}): Promise<StateOutput> {
  return trainInto(client, header, images, state, inMemory, opts).then(held);
}

export interface InferOptions extends JobCallOptions {
  /** An image the model could not read (missing, not an image), in place of its predictions. */
  onUnreadable?: (image: UnreadableImage) => void;
}

/** Inference on a worker: predictions image by image as they come (unreadable images to onUnreadable). */
export async function* infer(client: WorkerClient, header: Omit<JobHeader, 'numImages' | 'stateSize'>, images: ImagesInput, state: StateInput | null, opts: InferOptions = {}): AsyncGenerator<ImagePredictions> {
  const responses = client.inference(jobRequests(header, images, state), opts);
  for await (const part of readImagePredictions(responses, { whole: payload('predictions'), chunk: payload('predictionsChunk') }, { ...opts, close: true })) {
    if ('image' in part) yield part.image;
    else if (part.message.payload?.$case === 'predictionsList') yield* part.message.payload.value.images;
    else if (part.message.payload?.$case === 'progress') opts.onProgress?.(part.message.payload.value);
    else if (part.message.payload?.$case === 'unreadable') opts.onUnreadable?.(part.message.payload.value);
  }
}

/** Asks one worker to average K states, each weighted by the images it was trained on; the result goes to `sink`. */
export function averageStatesInto<T>(
  client: WorkerClient, header: JobHeader, states: readonly { state: StateInput; numImages: number }[], sink: StateSink<T>, opts: JobCallOptions = {},
): Promise<{ result: TrainResult; stored: T }> {
  async function* requests(): AsyncGenerator<AverageStatesRequest> {
    yield { payload: { $case: 'header', value: { job: header, numStates: states.length } } };
    for (const [index, s] of states.entries()) {
      for await (const chunk of stateChunks(s.state)) yield { payload: { $case: 'part', value: { index, numImages: s.numImages, chunk } } };
    }
  }
  return readStateInto(client.averageStates(requests(), opts), opts, sink);
}

/** Asks one worker to average K states, each weighted by the images it was trained on. */
export function averageStates(client: WorkerClient, header: JobHeader, states: readonly { state: StateInput; numImages: number }[], opts: JobCallOptions = {}): Promise<StateOutput> {
  return averageStatesInto(client, header, states, inMemory, opts).then(held);
}

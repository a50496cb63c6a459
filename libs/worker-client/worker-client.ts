import { randomUUID } from 'node:crypto';
import { payload, StreamParts, verifyAnnouncedChunks, type BlobFolder, type FolderPart, type VerifiedPieces } from '../blob/index.js';
import type { BlobChunk, ImagePredictions, ProgressEvent } from '../gen/aide/v1/common.js';
import {
  WorkerServiceService, type AverageStatesRequest, type ImageData, type TrainResult, type UnreadableImage,
} from '../gen/aide/v1/worker.js';
import { createClient, type CallOptions, type Client, type ClientOptions } from '../grpc/index.js';
import { dataLoss, resourceExhausted } from '../errors.js';
import { readImagePredictions } from '../wire/image-predictions-parts.js';
import { jobRequests, sharedStateFile, stateChunks, type ImagesInput, type JobHeaderBase, type StateInput } from './requests.js';

export type { JobHeaderBase, StateInput, StreamedState } from './requests.js';

export type WorkerClient = Client<typeof WorkerServiceService>;

export function workerClient(address: string, opts?: ClientOptions): WorkerClient {
  return createClient(WorkerServiceService, address, opts);
}

export interface JobCallOptions extends CallOptions {
  onProgress?: (event: ProgressEvent) => void;
  maxStateBytes?: number;
  /**
   * The caller's state folder, where the worker shares it (its capabilities
   * name the folder's id): stored states go to the worker by name, and the
   * worker writes its new state there as a part, so no state bytes cross the
   * call.
   */
  sharedFolder?: BlobFolder;
}

export interface StateOutput {
  result: TrainResult;
  state: Buffer;
}

/**
 * A worker's new state as it arrives: verified pieces of exactly
 * result.stateSize bytes (the last one after the SHA-256 checked out, which
 * `pieces.sha256` then holds), or the part the worker wrote into the shared
 * folder (its size checked on disk).
 */
export type ArrivingState = VerifiedPieces | FolderPart;

export const isStreamed = (state: ArrivingState): state is VerifiedPieces => Symbol.asyncIterator in state;

/** Takes a worker's new state as it arrives, so a sink that stores it can keep it out of memory and need not hash it again. */
export type StateSink<T> = (result: TrainResult, state: ArrivingState) => Promise<T>;

type StateResponse = {
  payload?: { $case: 'progress'; value: ProgressEvent } | { $case: 'result'; value: TrainResult } | { $case: 'stateChunk'; value: BlobChunk } | undefined;
};

/** Where the worker was asked to write its new state (a part of the shared folder), if anywhere. */
interface OutputFile {
  folder: BlobFolder;
  name: string;
}

const outputFile = (opts: JobCallOptions): OutputFile | undefined => opts.sharedFolder && { folder: opts.sharedFolder, name: randomUUID() };

/**
 * Reads a train/average response stream: progress to the callback, the
 * result, and the state into the sink, streamed or (`output`) as the part the
 * worker wrote, which is removed again if the call or the sink fails.
 */
async function readStateInto<T>(
  responses: AsyncIterable<StateResponse>, opts: JobCallOptions, sink: StateSink<T>, output: OutputFile | undefined,
): Promise<{ result: TrainResult; stored: T }> {
  const parts = new StreamParts(responses);
  let result: TrainResult | undefined;
  let stored: { value: T } | undefined;
  const limit = opts.maxStateBytes ?? Number.MAX_SAFE_INTEGER;
  const checkSize = (r: TrainResult) => {
    if (r.stateSize > limit) throw resourceExhausted(`worker announced a state of ${r.stateSize} bytes, the limit is ${limit}`);
  };
  try {
    for (let message = await parts.peek(); message; message = await parts.peek()) {
      const p = message.payload;
      if (p?.$case === 'stateChunk') {
        if (!result) throw dataLoss('worker sent its state before the result announcing it');
        if (stored) throw dataLoss('worker sent a second state');
        checkSize(result);
        stored = { value: await sink(result, verifyAnnouncedChunks(parts.chunks(payload('stateChunk')), { size: result.stateSize, signal: opts.signal, what: 'the worker' })) };
        continue;
      }
      await parts.next();
      if (p?.$case === 'progress') opts.onProgress?.(p.value);
      else if (p?.$case === 'result') {
        result = p.value;
        if (result.stateSha256.length > 0) stored = { value: await sink(result, await writtenPart(result, output, checkSize)) };
      }
    }
  } catch (err) {
    if (output) await output.folder.remove([output.name], { partial: true }).catch(() => {});
    throw err;
  }
  if (!result || !stored) throw dataLoss('worker ended the stream without a complete state');
  return { result, stored: stored.value };
}

/** The part a worker reports it wrote: DATA_LOSS unless it was asked to and the part on disk is of the size it reports. */
async function writtenPart(result: TrainResult, output: OutputFile | undefined, checkSize: (r: TrainResult) => void): Promise<FolderPart> {
  if (!output) throw dataLoss('worker reported a state file it was not asked for');
  checkSize(result);
  const onDisk = await output.folder.partSize(output.name);
  if (onDisk !== result.stateSize) throw dataLoss(`worker reported a state file of ${result.stateSize} bytes, the folder holds ${onDisk ?? 'none'}`);
  return { part: output.name, size: result.stateSize, sha256: Buffer.from(result.stateSha256) };
}

/** A sink holding the state in one buffer, allocated once (the pieces add up to stateSize: verified). */
async function inMemory(result: TrainResult, state: ArrivingState): Promise<Buffer> {
  if (!isStreamed(state)) throw new Error('a state held in memory is streamed, never written to a shared folder');
  const out = Buffer.allocUnsafe(result.stateSize);
  let offset = 0;
  for await (const piece of state) offset += piece.copy(out, offset);
  return out;
}

/** Options of the calls that hold the new state in memory: it streams back, never into a shared folder. */
type InMemoryCallOptions = Omit<JobCallOptions, 'sharedFolder'>;

const held = ({ result, stored }: { result: TrainResult; stored: Buffer }): StateOutput => ({ result, state: stored });

/** One training run on a worker, its new state handed to `sink` as it streams in. */
export function trainInto<T>(
  client: WorkerClient, header: JobHeaderBase, images: readonly ImageData[], state: StateInput | null,
  sink: StateSink<T>, opts: JobCallOptions = {},
): Promise<{ result: TrainResult; stored: T }> {
  const output = outputFile(opts);
  return readStateInto(client.train(jobRequests(header, images, state, { shared: opts.sharedFolder, outputStateFile: output?.name }), opts), opts, sink, output);
}

/** One training run on a worker: the new state (verified) and the worker's result header. */
export function train(client: WorkerClient, header: JobHeaderBase, images: readonly ImageData[], state: StateInput | null, opts: InMemoryCallOptions = {}): Promise<StateOutput> {
  return trainInto(client, header, images, state, inMemory, opts).then(held);
}

export interface InferOptions extends JobCallOptions {
  /** An image the model could not read (missing, not an image), in place of its predictions. */
  onUnreadable?: (image: UnreadableImage) => void;
}

/** Inference on a worker: predictions image by image as they come (unreadable images to onUnreadable). */
export async function* infer(client: WorkerClient, header: JobHeaderBase, images: ImagesInput, state: StateInput | null, opts: InferOptions = {}): AsyncGenerator<ImagePredictions> {
  const responses = client.inference(jobRequests(header, images, state, { shared: opts.sharedFolder }), opts);
  for await (const part of readImagePredictions(responses, { whole: payload('predictions'), chunk: payload('predictionsChunk') }, { ...opts, close: true })) {
    if ('image' in part) yield part.image;
    else if (part.message.payload?.$case === 'predictionsList') yield* part.message.payload.value.images;
    else if (part.message.payload?.$case === 'progress') opts.onProgress?.(part.message.payload.value);
    else if (part.message.payload?.$case === 'unreadable') opts.onUnreadable?.(part.message.payload.value);
  }
}

/** Asks one worker to average K states, each weighted by the images it was trained on; the result goes to `sink`. */
export function averageStatesInto<T>(
  client: WorkerClient, header: JobHeaderBase, states: readonly { state: StateInput; numImages: number }[], sink: StateSink<T>, opts: JobCallOptions = {},
): Promise<{ result: TrainResult; stored: T }> {
  const output = outputFile(opts);
  async function* requests(): AsyncGenerator<AverageStatesRequest> {
    const job = { ...header, numImages: 0, stateSize: 0, stateFile: undefined, outputStateFile: output?.name ?? '' };
    yield { payload: { $case: 'header', value: { job, numStates: states.length } } };
    for (const [index, s] of states.entries()) {
      const file = sharedStateFile(s.state, opts.sharedFolder);
      if (file) {
        yield { payload: { $case: 'part', value: { index, numImages: s.numImages, chunk: undefined, file } } };
        continue;
      }
      for await (const chunk of stateChunks(s.state)) yield { payload: { $case: 'part', value: { index, numImages: s.numImages, chunk, file: undefined } } };
    }
  }
  return readStateInto(client.averageStates(requests(), opts), opts, sink, output);
}

/** Asks one worker to average K states, each weighted by the images it was trained on. */
export function averageStates(client: WorkerClient, header: JobHeaderBase, states: readonly { state: StateInput; numImages: number }[], opts: InMemoryCallOptions = {}): Promise<StateOutput> {
  return averageStatesInto(client, header, states, inMemory, opts).then(held);
}

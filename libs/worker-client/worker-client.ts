import { collectBlob, payload, StreamParts, toChunks } from '../blob/index.js';
import type { BlobChunk, ImagePredictions, ProgressEvent } from '../gen/aide/v1/common.js';
import {
  WorkerServiceService, type AverageStatesRequest, type ImageData, type JobHeader, type TrainResult,
} from '../gen/aide/v1/worker.js';
import { createClient, type CallOptions, type Client, type ClientOptions } from '../grpc/index.js';
import { dataLoss } from '../errors.js';
import { jobRequests } from './requests.js';

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

type StateResponse = {
  payload?: { $case: 'progress'; value: ProgressEvent } | { $case: 'result'; value: TrainResult } | { $case: 'stateChunk'; value: BlobChunk } | undefined;
};

/** Reads a train/average response stream: progress to the callback, then the result and the verified state. */
async function readState(responses: AsyncIterable<StateResponse>, opts: JobCallOptions): Promise<StateOutput> {
  const parts = new StreamParts(responses);
  let result: TrainResult | undefined;
  let state: Buffer | undefined;
  for (let message = await parts.peek(); message; message = await parts.peek()) {
    const p = message.payload;
    if (p?.$case === 'stateChunk') {
      state = await collectBlob(parts.chunks(payload('stateChunk')), { maxSize: opts.maxStateBytes ?? Number.MAX_SAFE_INTEGER, signal: opts.signal });
      continue;
    }
    await parts.next();
    if (p?.$case === 'progress') opts.onProgress?.(p.value);
    else if (p?.$case === 'result') result = p.value;
  }
  if (!result || !state) throw dataLoss('worker ended the stream without a complete state');
  if (state.length !== result.stateSize) throw dataLoss(`state of ${state.length} bytes, worker announced ${result.stateSize}`);
  return { result, state };
}

/** One training run on a worker: the new state (verified) and the worker's result header. */
export function train(client: WorkerClient, header: Omit<JobHeader, 'numImages' | 'stateSize'>, images: readonly ImageData[], state: Uint8Array | null, opts: JobCallOptions = {}): Promise<StateOutput> {
  return readState(client.train(jobRequests(header, images, state), opts), opts);
}

/** Inference on a worker: predictions image by image as they come. */
export async function* infer(client: WorkerClient, header: Omit<JobHeader, 'numImages' | 'stateSize'>, images: readonly ImageData[], state: Uint8Array | null, opts: JobCallOptions = {}): AsyncGenerator<ImagePredictions> {
  for await (const res of client.inference(jobRequests(header, images, state), opts)) {
    if (res.payload?.$case === 'progress') opts.onProgress?.(res.payload.value);
    else if (res.payload?.$case === 'predictions') yield res.payload.value;
  }
}

/** Asks one worker to average K states, each weighted by the images it was trained on. */
export function averageStates(client: WorkerClient, header: JobHeader, states: readonly { state: Uint8Array; numImages: number }[], opts: JobCallOptions = {}): Promise<StateOutput> {
  async function* requests(): AsyncGenerator<AverageStatesRequest> {
    yield { payload: { $case: 'header', value: { job: header, numStates: states.length } } };
    for (const [index, s] of states.entries()) {
      for await (const chunk of toChunks(s.state, { totalSize: s.state.length })) {
        yield { payload: { $case: 'part', value: { index, numImages: s.numImages, chunk } } };
      }
    }
  }
  return readState(client.averageStates(requests(), opts), opts);
}

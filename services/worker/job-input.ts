import { failedPrecondition, invalidArgument, invalidField, resourceExhausted } from '../../libs/errors.js';
import { collectBlob, payload, StreamParts, verifyChunks, type BlobFolder } from '../../libs/blob/index.js';
import type { BlobChunk } from '../../libs/gen/aide/v1/common.js';
import type { AverageStatesRequest, ImageData, JobHeader, ImageBatch, SharedStateFile } from '../../libs/gen/aide/v1/worker.js';
import type { StateStream } from '../../libs/plugin/plugin.js';

/** Train and inference requests share this oneof: header, image batches, state chunks. */
type JobRequest = {
  payload?: { $case: 'header'; value: JobHeader } | { $case: 'images'; value: ImageBatch } | { $case: 'stateChunk'; value: BlobChunk } | undefined;
};

export interface InputLimits {
  maxStateBytes: number;
  signal?: AbortSignal;
  /** The state folder this worker shares with the controller, if any: states named by file are read there. */
  folder?: BlobFolder;
}

/** The folder a job's state file lies in: FAILED_PRECONDITION where this worker shares none; RESOURCE_EXHAUSTED past the size limit. */
function folderFor(file: SharedStateFile, opts: InputLimits): BlobFolder {
  if (!opts.folder) throw failedPrecondition(`the job names state file ${file.name}, and this worker shares no state folder with its controller`);
  if (file.size > opts.maxStateBytes) throw resourceExhausted(`state of ${file.size} bytes, the limit is ${opts.maxStateBytes}`);
  return opts.folder;
}

/** A state the job named in the shared folder, whole and checked against its SHA-256. */
const sharedState = (file: SharedStateFile, opts: InputLimits): Promise<Buffer> => folderFor(file, opts).readWhole(file.name, file.size, file.sha256);

export interface JobInput {
  header: JobHeader;
  images: ImageData[];
  /** null for a fresh model. */
  state: Buffer | null;
}

/**
 * Reads a job's request stream — header, image batches, then the input state —
 * and verifies the state (size limit, SHA-256) before any model sees it.
 */
export async function readJobInput(requests: AsyncIterable<JobRequest>, opts: InputLimits): Promise<JobInput> {
  const parts = new StreamParts(requests);
  const header = await parts.take(payload('header'), 'job header');
  if (!header.jobId) throw invalidField('header.job_id', 'required');
  if (!header.project) throw invalidField('header.project', 'required');
  if (!header.modelLibrary) throw invalidField('header.model_library', 'required');
  const images: ImageData[] = [];
  for (let batch = await parts.peek(); batch?.payload?.$case === 'images'; batch = await parts.peek()) {
    images.push(...batch.payload.value.images);
    await parts.next();
  }
  if (images.length !== header.numImages) {
    throw invalidField('header.num_images', `announced ${header.numImages} images, received ${images.length}`);
  }
  let state: Buffer | null = null;
  if (header.stateFile) {
    if (header.stateFile.size !== header.stateSize) throw invalidField('header.state_file.size', `${header.stateFile.size} bytes, state_size says ${header.stateSize}`);
    state = await sharedState(header.stateFile, opts);
  } else if (header.stateSize > 0) {
    state = await collectBlob(parts.chunks(payload('stateChunk')), { maxSize: opts.maxStateBytes, signal: opts.signal });
    if (state.length !== header.stateSize) throw invalidArgument(`state of ${state.length} bytes, header announced ${header.stateSize}`);
  }
  await parts.end('the input state');
  return { header, images, state };
}

/** One input state of an averaging request, as it arrives. */
export interface AveragingPart {
  /** Images the state was trained on: its weight in the average. */
  weight: number;
  /** Its chunks, not yet verified (read them to their end before taking the next state), or its file in the shared folder. */
  source: { chunks: AsyncIterable<BlobChunk> } | { file: SharedStateFile };
}

export interface AveragingRequest {
  header: JobHeader;
  numStates: number;
  /** States 0…numStates-1 in order; the iteration ends once the request stream has ended after the last. */
  states: AsyncIterable<AveragingPart>;
}

/** Reads an averaging request's header; its states are read as the caller takes them. */
export async function openAveraging(requests: AsyncIterable<AverageStatesRequest>): Promise<AveragingRequest> {
  const parts = new StreamParts(requests);
  const { job: header, numStates } = await parts.take(payload('header'), 'averaging header');
  if (!header) throw invalidField('header.job', 'required');
  if (numStates < 1) throw invalidField('header.num_states', 'at least one state is needed');
  async function* states(): AsyncGenerator<AveragingPart> {
    for (let i = 0; i < numStates; i++) {
      const first = await parts.peek();
      const part = first?.payload?.$case === 'part' ? first.payload.value : undefined;
      if (!part || part.index !== i) throw invalidField('part.index', `expected the parts of state ${i}`);
      if (part.file) {
        await parts.next();
        yield { weight: part.numImages, source: { file: part.file } };
        continue;
      }
      yield { weight: part.numImages, source: { chunks: partChunks(parts, i) } };
    }
    await parts.end(`${numStates} states`);
  }
  return { header, numStates, states: states() };
}

/** The states collected whole, each verified: for a plugin without averageModelStateStreams. */
export async function collectStates(request: AveragingRequest, opts: InputLimits): Promise<{ states: Buffer[]; weights: number[] }> {
  const states: Buffer[] = [];
  const weights: number[] = [];
  for await (const { weight, source } of request.states) {
    weights.push(weight);
    states.push('file' in source ? await sharedState(source.file, opts) : await collectBlob(source.chunks, { maxSize: opts.maxStateBytes, signal: opts.signal }));
  }
  return { states, weights };
}

/**
 * The states as the plugin contract's StateStreams, each verified as it passes
 * (size limit, SHA-256 at its last piece), streamed in or read from the shared folder. `weights` fills as
 * states arrive; `allRead()` tells whether the request was read to its end.
 */
export function streamStates(request: AveragingRequest, opts: InputLimits): { streams: AsyncIterable<StateStream>; weights: number[]; allRead(): boolean } {
  const weights: number[] = [];
  let ended = false;
  const bytesOf = (source: AveragingPart['source']): AsyncIterable<Buffer> => ('file' in source
    ? folderFor(source.file, opts).readChecked(source.file.name, source.file.size, source.file.sha256)
    : verifyChunks(source.chunks, { maxSize: opts.maxStateBytes, signal: opts.signal }));
  async function* streams(): AsyncGenerator<StateStream> {
    for await (const { weight, source } of request.states) {
      weights.push(weight);
      yield { index: weights.length - 1, count: request.numStates, weight, bytes: bytesOf(source) };
    }
    ended = true;
  }
  return { streams: streams(), weights, allRead: () => ended };
}

/** The chunks of state `index`, ending at the first part of another state. */
async function* partChunks(parts: StreamParts<AverageStatesRequest>, index: number): AsyncGenerator<BlobChunk> {
  for (;;) {
    const message = await parts.peek();
    const part = message?.payload?.$case === 'part' ? message.payload.value : undefined;
    if (!part || part.index !== index) return;
    await parts.next();
    if (!part.chunk) throw invalidField('part.chunk', `a part of state ${index} has no chunk`);
    yield part.chunk;
  }
}

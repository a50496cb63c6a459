import { toChunks, type BlobFolder } from '../blob/index.js';
import { dataLoss } from '../errors.js';
import type { BlobChunk } from '../gen/aide/v1/common.js';
import { ImageData, type ImageBatch, type JobHeader, type SharedStateFile } from '../gen/aide/v1/worker.js';

/** A job's header as its caller gives it: the counts and how the state travels are filled in on the way. */
export type JobHeaderBase = Omit<JobHeader, 'numImages' | 'stateSize' | 'stateFile' | 'outputStateFile'>;

/**
 * A model state sent to workers piece by piece (e.g. straight from the
 * database) instead of from one buffer; open() may be called again for a retry.
 */
export interface StreamedState {
  size: number;
  /** Its SHA-256 where known (a stored state's): sent as it is, the bytes not hashed again on the way. */
  sha256?: Uint8Array;
  /** Its file's name in the caller's state folder (a stored state's): a worker sharing the folder reads it there. */
  file?: string;
  open(): AsyncIterable<Uint8Array>;
}

/** A state to send: in memory, or streamed. */
export type StateInput = Uint8Array | StreamedState;

export const stateSize = (state: StateInput | null): number => (state === null ? 0 : state instanceof Uint8Array ? state.length : state.size);

/** Where a worker sharing `folder` finds the state, if it can: a stored state, whose SHA-256 it checks. */
export function sharedStateFile(state: StateInput | null, folder: BlobFolder | undefined): SharedStateFile | undefined {
  if (!folder || !state || state instanceof Uint8Array || state.file === undefined || !state.sha256) return undefined;
  return { name: state.file, size: state.size, sha256: Buffer.from(state.sha256) };
}

/** The state's chunks, each retry reading it afresh. */
export function stateChunks(state: StateInput): AsyncGenerator<BlobChunk> {
  return state instanceof Uint8Array ? toChunks(state) : toChunks(state.open(), { totalSize: state.size, sha256: state.sha256 });
}

/** Image batches stay well below the 4 MB message limit. */
const BATCH_BYTES = 1 << 20;

/** Splits a job's images into batches of about BATCH_BYTES encoded bytes. */
export function* imageBatches(images: readonly ImageData[]): Generator<ImageBatch> {
  let batch: ImageData[] = [];
  let bytes = 0;
  for (const image of images) {
    const size = ImageData.encode(image).finish().length;
    if (batch.length > 0 && bytes + size > BATCH_BYTES) {
      yield { images: batch };
      batch = [];
      bytes = 0;
    }
    batch.push(image);
    bytes += size;
  }
  if (batch.length > 0) yield { images: batch };
}

type JobRequestPayload =
  | { $case: 'header'; value: JobHeader }
  | { $case: 'images'; value: ImageBatch }
  | { $case: 'stateChunk'; value: BlobChunk };

/**
 * A job's images read a page at a time (e.g. from the database), afresh for
 * each retry: the sender never holds them all, however large the project.
 */
export interface StreamedImages {
  count: number;
  pages(): AsyncIterable<readonly ImageData[]>;
}

/** A job's images: in memory, or streamed. */
export type ImagesInput = readonly ImageData[] | StreamedImages;

const isStreamed = (images: ImagesInput): images is StreamedImages => 'pages' in images;

export const imageCount = (images: ImagesInput): number => (isStreamed(images) ? images.count : images.length);

/** The image batches of `images`, a streamed source checked to hold the count it announced (the header carried it). */
async function* imagesBatches(images: ImagesInput): AsyncGenerator<ImageBatch> {
  if (!isStreamed(images)) {
    yield* imageBatches(images);
    return;
  }
  let sent = 0;
  for await (const page of images.pages()) {
    sent += page.length;
    if (sent > images.count) break;
    yield* imageBatches(page);
  }
  if (sent !== images.count) throw dataLoss(`the job's image source gave ${sent} images where ${images.count} were announced`);
}

/**
 * The request stream of a train or inference job: header, image batches, the
 * input state's chunks, or only its name where the worker shares the caller's
 * state folder (`shared`); `outputStateFile` asks it to write its new state there.
 */
export async function* jobRequests(
  header: JobHeaderBase, images: ImagesInput, state: StateInput | null, opts: { shared?: BlobFolder; outputStateFile?: string } = {},
): AsyncGenerator<{ payload: JobRequestPayload }> {
  const size = stateSize(state);
  const stateFile = sharedStateFile(state, opts.shared);
  yield { payload: { $case: 'header', value: { ...header, numImages: imageCount(images), stateSize: size, stateFile, outputStateFile: opts.outputStateFile ?? '' } } };
  for await (const batch of imagesBatches(images)) yield { payload: { $case: 'images', value: batch } };
  if (state && size > 0 && !stateFile) {
    for await (const chunk of stateChunks(state)) yield { payload: { $case: 'stateChunk', value: chunk } };
  }
}

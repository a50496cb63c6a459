import { toChunks } from '../blob/index.js';
import type { BlobChunk } from '../gen/aide/v1/common.js';
import { ImageData, type ImageBatch, type JobHeader } from '../gen/aide/v1/worker.js';

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

/** The request stream of a train or inference job: header, image batches, the input state's chunks. */
export async function* jobRequests(header: Omit<JobHeader, 'numImages' | 'stateSize'>, images: readonly ImageData[], state: Uint8Array | null): AsyncGenerator<{ payload: JobRequestPayload }> {
  yield { payload: { $case: 'header', value: { ...header, numImages: images.length, stateSize: state?.length ?? 0 } } };
  for (const batch of imageBatches(images)) yield { payload: { $case: 'images', value: batch } };
  if (state && state.length > 0) {
    for await (const chunk of toChunks(state, { totalSize: state.length })) yield { payload: { $case: 'stateChunk', value: chunk } };
  }
}

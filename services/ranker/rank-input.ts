/**
 * The Rank call's input after its header: images read whole (chunked ones
 * reassembled), each image id at most once, in batches of `size`; and a batch
 * as the RankData a ranker sees (embeddings decoded from float16, the
 * annotated flag kept).
 */
import { payload } from '../../libs/blob/index.js';
import { invalidField } from '../../libs/errors.js';
import type { ImagePredictions } from '../../libs/gen/aide/v1/common.js';
import type { RankRequest } from '../../libs/gen/aide/v1/ranker.js';
import type { RankData } from '../../libs/plugin/data.js';
import { decodeEmbedding } from '../../libs/wire/embedding.js';
import { readImagePredictions } from '../../libs/wire/image-predictions-parts.js';
import { predictionFromProto } from '../../libs/wire/predictions.js';

/** The images after the header, `size` at a time (the last batch may be smaller). */
export async function* imageBatches(rest: AsyncIterator<RankRequest>, size: number, signal: AbortSignal): AsyncGenerator<ImagePredictions[]> {
  let batch: ImagePredictions[] = [];
  const seen = new Set<string>();
  const images = readImagePredictions({ [Symbol.asyncIterator]: () => rest }, { whole: payload('image'), chunk: payload('imageChunk') }, { signal });
  for await (const part of images) {
    signal.throwIfAborted();
    if (!('image' in part)) throw invalidField('header', 'only the first message may be the header');
    const { image } = part;
    if (seen.has(image.imageId)) throw invalidField('image.image_id', `image ${image.imageId} was sent twice`);
    seen.add(image.imageId);
    batch.push(image);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** A batch as a ranker sees it; `first` is the batch's first image's position in the call, for field names in errors. */
export function toRankData(batch: readonly ImagePredictions[], first: number): RankData {
  const data: RankData = {};
  batch.forEach((image, i) => {
    const field = `images[${first + i}]`;
    data[image.imageId] = {
      predictions: image.predictions.map((p, j) => predictionFromProto(p, `${field}.predictions[${j}]`)),
      ...(image.embedding ? { embedding: decodeEmbedding(image.embedding, `${field}.embedding`) } : {}),
      ...(image.annotated ? { annotated: true } : {}),
    };
  });
  return data;
}

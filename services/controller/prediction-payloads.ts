import type { BlobChunk, ImagePredictions } from '../../libs/gen/aide/v1/common.js';
import { imagePredictionsPayloads, surelyFitsWhole } from '../../libs/wire/image-predictions-parts.js';
import type { OutgoingImagePredictions } from './domain.js';
import type { Db } from './store/db.js';
import { imageExtras } from './store/embeddings.js';
import { imagePredictionGroups } from './store/predictions.js';
import { imagePredictionsToProto } from './wire/prediction.js';

/**
 * The state's stored predictions a group of images at a time (see
 * imagePredictionGroups: at most a thousand images or 16 MiB of maps), each
 * image with the state's embedding of it and whether it is annotated, read
 * for the whole group in one query.
 */
async function* outgoingImagePredictionGroups(db: Db, stateId: string, imageId?: string): AsyncGenerator<OutgoingImagePredictions[]> {
  for await (const group of imagePredictionGroups(db, stateId, imageId)) {
    const extras = await imageExtras(db, stateId, group.map((g) => g.imageId));
    yield group.map(({ imageId, predictions }) => ({ imageId, predictions, embedding: extras.embeddings.get(imageId), annotated: extras.annotated.has(imageId) }));
  }
}

/** A payload of a stream of stored predictions: an image whole, or a chunk of one that exceeds a message. */
export type PredictionPayload = { $case: 'image'; value: ImagePredictions } | { $case: 'imageChunk'; value: BlobChunk };

/**
 * A state's stored predictions (of one image, with `imageId`) as the payloads
 * of a stream, in image order, each image with its embedding and annotated
 * flag: whole, or as chunks where an image exceeds a message. They come in
 * batches, a group of whole images at a time and an image's chunks one by one
 * (so an image larger than a message is never held as all its chunks at once
 * beside itself), so that callers handle a batch per step rather than an
 * image. StreamPredictions sends them to clients, a ranking job to the Ranker
 * (both name the cases alike).
 */
export async function* storedPredictionPayloads(db: Db, stateId: string, imageId?: string): AsyncGenerator<PredictionPayload[]> {
  for await (const group of outgoingImagePredictionGroups(db, stateId, imageId)) {
    let whole: PredictionPayload[] = [];
    for (const image of group.map(imagePredictionsToProto)) {
      // The common case without a step per image; one that may not fit a message is looked at closely.
      if (surelyFitsWhole(image)) {
        whole.push({ $case: 'image', value: image });
        continue;
      }
      for await (const part of imagePredictionsPayloads(image, 'image', 'imageChunk')) {
        if (part.$case === 'image') {
          whole.push(part);
          continue;
        }
        if (whole.length > 0) yield whole;
        whole = [];
        yield [part];
      }
    }
    if (whole.length > 0) yield whole;
  }
}

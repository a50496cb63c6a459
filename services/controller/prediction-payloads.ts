import type { BlobChunk, ImagePredictions } from '../../libs/gen/aide/v1/common.js';
import { imagePredictionsPayloads } from '../../libs/wire/image-predictions-parts.js';
import type { Db } from './store/db.js';
import { eachImagePredictions } from './store/predictions.js';
import { imagePredictionsToProto } from './wire/prediction.js';

/**
 * A state's stored predictions (of one image, with `imageId`) as the payloads
 * of a stream, image by image with one image in memory at a time: whole, or
 * as chunks where an image exceeds a message. StreamPredictions sends them
 * to clients, a ranking job to the Ranker (both name the cases alike).
 */
export async function* storedPredictionPayloads(
  db: Db, project: string, stateId: string, imageId?: string,
): AsyncGenerator<{ $case: 'image'; value: ImagePredictions } | { $case: 'imageChunk'; value: BlobChunk }> {
  for await (const image of eachImagePredictions(db, project, stateId, imageId)) {
    yield* imagePredictionsPayloads(imagePredictionsToProto(image), 'image', 'imageChunk');
  }
}

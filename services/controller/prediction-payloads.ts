import type { BlobChunk, ImagePredictions } from '../../libs/gen/aide/v1/common.js';
import { imagePredictionsPayloads } from '../../libs/wire/image-predictions-parts.js';
import type { OutgoingImagePredictions, StoredImagePredictions } from './domain.js';
import type { Db } from './store/db.js';
import { imageExtras } from './store/embeddings.js';
import { eachImagePredictions } from './store/predictions.js';
import { imagePredictionsToProto } from './wire/prediction.js';

/** Images whose embeddings and annotated flags are read in one query, and the map bytes they may hold meanwhile. */
const EXTRAS_IMAGES = 500;
const EXTRAS_BYTES = 16 << 20;

const mapBytes = (image: StoredImagePredictions): number => image.predictions.reduce((n, p) =>
  n + (p.geometry.kind === 'segmentation' ? p.geometry.labelMap.length + p.geometry.confidenceMap.length + p.geometry.logitsMap.length : 0), 0);

/**
 * The state's stored predictions image by image (see eachImagePredictions),
 * each with the state's embedding of the image and whether it is annotated:
 * read for a group of images at a time (up to EXTRAS_IMAGES, or fewer where
 * their segmentation maps reach EXTRAS_BYTES), so memory stays bounded.
 */
export async function* eachOutgoingImagePredictions(db: Db, project: string, stateId: string, imageId?: string): AsyncGenerator<OutgoingImagePredictions> {
  let group: StoredImagePredictions[] = [];
  let bytes = 0;
  async function* flush(): AsyncGenerator<OutgoingImagePredictions> {
    const extras = await imageExtras(db, stateId, group.map((g) => g.imageId));
    for (const image of group) {
      yield { ...image, embedding: extras.embeddings.get(image.imageId), annotated: extras.annotated.has(image.imageId) };
    }
    group = [];
    bytes = 0;
  }
  for await (const image of eachImagePredictions(db, project, stateId, imageId)) {
    group.push(image);
    bytes += mapBytes(image);
    if (group.length >= EXTRAS_IMAGES || bytes >= EXTRAS_BYTES) yield* flush();
  }
  if (group.length > 0) yield* flush();
}

/**
 * A state's stored predictions (of one image, with `imageId`) as the payloads
 * of a stream, image by image, each with its embedding and annotated flag:
 * whole, or as chunks where an image exceeds a message. StreamPredictions
 * sends them to clients, a ranking job to the Ranker (both name the cases alike).
 */
export async function* storedPredictionPayloads(
  db: Db, project: string, stateId: string, imageId?: string,
): AsyncGenerator<{ $case: 'image'; value: ImagePredictions } | { $case: 'imageChunk'; value: BlobChunk }> {
  for await (const image of eachOutgoingImagePredictions(db, project, stateId, imageId)) {
    yield* imagePredictionsPayloads(imagePredictionsToProto(image), 'image', 'imageChunk');
  }
}

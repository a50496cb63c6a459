import { pMapIterable } from 'p-map';
import type { BlobChunk, ImagePredictions } from '../../libs/gen/aide/v1/common.js';
import { imagePredictionsPayloads, surelyFitsWhole } from '../../libs/wire/image-predictions-parts.js';
import type { OutgoingImagePredictions } from './domain.js';
import type { Db } from './store/db.js';
import { imageExtras } from './store/embeddings.js';
import { predictedImageGroups, predictionsOfImageGroup } from './store/predictions.js';
import { imagePredictionsToProto } from './wire/prediction.js';

/**
 * Groups read ahead of the one the caller handles: the database reads the next while this process encodes
 * and sends the current one. Two rather than one: a group's reading and its encoding take about as long
 * (Postgres and the controller each ~7–10 µs of CPU a prediction), so with one ahead either side often
 * waited on the other; with two, StreamPredictions of 100,000 predictions through the mesh ran ~15 % faster
 * (bench/controller/stream-mesh.ts, bench/RESULTS.md).
 */
export const GROUPS_AHEAD = 2;

/**
 * The state's stored predictions (of one image, with `imageId`) a group of
 * images at a time (see predictedImageGroups: at most a thousand images or
 * 16 MiB of maps), each image with the state's embedding of it and whether it
 * is annotated, read for the whole group in one query beside the group's
 * predictions. The next group is read while the caller handles this one:
 * memory holds 1 + GROUPS_AHEAD groups at most.
 */
function outgoingImagePredictionGroups(db: Db, stateId: string, imageId?: string): AsyncIterable<OutgoingImagePredictions[]> {
  async function* groups(): AsyncGenerator<OutgoingImagePredictions[]> {
    for await (const ids of imageId ? [[imageId]] : predictedImageGroups(db, stateId)) {
      const [group, extras] = await Promise.all([predictionsOfImageGroup(db, stateId, ids), imageExtras(db, stateId, ids)]);
      yield group.map(({ imageId, predictions }) => ({ imageId, predictions, embedding: extras.embeddings.get(imageId), annotated: extras.annotated.has(imageId) }));
    }
  }
  // backpressure counts the groups read and not yet taken: the one the caller holds is taken.
  return pMapIterable(groups(), (group) => group, { concurrency: 1, backpressure: GROUPS_AHEAD });
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

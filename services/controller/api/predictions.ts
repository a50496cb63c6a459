import { invalidField, resourceExhausted } from '../../../libs/errors.js';
import { Prediction as ProtoPrediction, type ImagePredictions } from '../../../libs/gen/aide/v1/common.js';
import { ImageLists } from '../../../libs/wire/image-predictions-parts.js';
import type { StreamPredictionsResponse } from '../../../libs/gen/aide/v1/controller.js';
import { type PredictionPayload, storedPredictionPayloads } from '../prediction-payloads.js';
import { imagesByIds } from '../store/images.js';
import { currentState, getState } from '../store/model-states.js';
import { batchCursor, listPredictions, nextBatch } from '../store/predictions.js';
import { getProject } from '../store/projects.js';
import type { Db } from '../store/db.js';
import { imageToProto } from '../wire/image.js';
import { predictionToProto } from '../wire/prediction.js';
import type { ControllerDeps, ControllerHandlers } from './deps.js';
import { optionalId, text, TEXT_LIMITS } from './fields.js';
import { MAX_PAGE_BYTES, paginate } from './paging.js';

const MAX_BATCH = 1000;
const DEFAULT_BATCH = 10;

// Segmentation maps make a prediction megabytes large: pages are cut by bytes too.
const encodedSize = (p: ProtoPrediction): number => ProtoPrediction.encode(p).finish().length;

const MAX_IMAGES_PER_MESSAGE = 4096;

/**
 * StreamPredictions with images_per_message > 1: consecutive whole images
 * gathered into ImagePredictionsList messages of up to `perMessage` images
 * (ImageLists: and 1 MiB); an image that travels in chunks keeps its place
 * between two lists.
 */
async function* imagesInLists(batches: AsyncIterable<PredictionPayload[]>, perMessage: number, signal: AbortSignal): AsyncGenerator<StreamPredictionsResponse> {
  const lists = new ImageLists(perMessage);
  const message = (images: ImagePredictions[]): StreamPredictionsResponse => ({ payload: { $case: 'images', value: { images } } });
  for await (const batch of batches) {
    signal.throwIfAborted();
    for (const part of batch) {
      const full = part.$case === 'image' ? lists.add(part.value) : lists.take();
      if (full) yield message(full);
      if (part.$case !== 'image') yield { payload: part };
    }
  }
  const rest = lists.take();
  if (rest) yield message(rest);
}

/** The given state of the project (NOT_FOUND otherwise), or its current one (null: none yet). */
export async function stateIdOf(db: Db, project: string, field: string, value: string): Promise<string | null> {
  const given = optionalId(field, value);
  if (given !== undefined) return (await getState(db, project, given)).id;
  await getProject(db, project);
  return (await currentState(db, project))?.id ?? null;
}

export function predictionHandlers({ pool }: ControllerDeps): Pick<ControllerHandlers, 'listPredictions' | 'streamPredictions' | 'nextBatch'> {
  return {
    async listPredictions(req) {
      const stateId = await stateIdOf(pool, req.project, 'model_state_id', req.modelStateId);
      if (stateId === null) return { predictions: [], nextPageToken: '' };
      const imageId = optionalId('image_id', req.imageId);
      const page = await paginate(req, `predictions:${req.project}:${stateId}:${imageId ?? ''}`,
        async (p) => (await listPredictions(pool, req.project, { stateId, ...(imageId ? { imageId } : {}) }, p)).map(predictionToProto),
        (x) => x.id, encodedSize);
      const only = page.items.length === 1 ? page.items[0]! : undefined;
      const onlySize = only ? encodedSize(only) : 0;
      if (only && onlySize > MAX_PAGE_BYTES) {
        throw resourceExhausted(`prediction ${only.id} takes ${onlySize} bytes, more than a message holds: read it with StreamPredictions`);
      }
      return { predictions: page.items, nextPageToken: page.nextPageToken };
    },

    async *streamPredictions(req, ctx): AsyncGenerator<StreamPredictionsResponse> {
      if (req.imagesPerMessage > MAX_IMAGES_PER_MESSAGE) throw invalidField('images_per_message', `must be at most ${MAX_IMAGES_PER_MESSAGE}`);
      const stateId = await stateIdOf(pool, req.project, 'model_state_id', req.modelStateId);
      if (stateId === null) return;
      const imageId = optionalId('image_id', req.imageId);
      const batches = storedPredictionPayloads(pool, stateId, imageId);
      if (req.imagesPerMessage <= 1) {
        for await (const batch of batches) {
          ctx.signal.throwIfAborted();
          for (const part of batch) yield { payload: part };
        }
        return;
      }
      yield* imagesInLists(batches, req.imagesPerMessage, ctx.signal);
    },

    async nextBatch(req) {
      if (req.limit > MAX_BATCH) throw invalidField('limit', `must be at most ${MAX_BATCH}`);
      const filter = {
        pathPrefix: text('path_prefix', req.pathPrefix, { max: TEXT_LIMITS.line }),
        excludePrefixes: req.excludePrefixes.map((p, i) => text(`exclude_prefixes[${i}]`, p, { required: true, max: TEXT_LIMITS.line })),
      };
      const stateId = await stateIdOf(pool, req.project, 'model_state_id', '');
      if (stateId === null) return { images: [], priorities: [], nextPageToken: '' };
      const page = await paginate({ pageSize: req.limit || DEFAULT_BATCH, pageToken: req.pageToken },
        `next-batch:${req.project}:${stateId}:${JSON.stringify(filter)}`,
        (p) => nextBatch(pool, req.project, stateId, filter, p), batchCursor);
      const images = await imagesByIds(pool, req.project, page.items.map((b) => b.imageId));
      return {
        images: page.items.map((b) => imageToProto(images.get(b.imageId)!)),
        priorities: page.items.map((b) => b.priority),
        nextPageToken: page.nextPageToken,
      };
    },
  };
}

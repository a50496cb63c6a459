/**
 * Segmentation predictions take 5 bytes a pixel and more: ListPredictions
 * cuts its pages by bytes, and StreamPredictions returns an image however
 * large, in chunks where it exceeds a message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { payload } from '../../libs/blob/index.js';
import { isAideError } from '../../libs/errors.js';
import { AnnotationType, ImagePredictions } from '../../libs/gen/aide/v1/common.js';
import { ListPredictionsResponse } from '../../libs/gen/aide/v1/controller.js';
import { MAX_MESSAGE_BYTES } from '../../libs/grpc/limits.js';
import { readImagePredictions } from '../../libs/wire/image-predictions-parts.js';
import { insertImages, listImages } from '../../services/controller/store/images.js';
import { insertState } from '../../services/controller/store/model-states.js';
import { insertPredictions } from '../../services/controller/store/predictions.js';
import { controllerTargets } from './harness.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A segmentation of width×height pixels whose maps depend on `seed`. */
const segmentation = (imageId: string, width: number, height: number, seed: number) => {
  const pixels = width * height;
  const labelMap = new Uint8Array(pixels).map((_, i) => (i + seed) % 4);
  const confidenceMap = new Uint8Array(new Float32Array(pixels).map((_, i) => ((i * seed) % 100) / 100).buffer);
  return {
    imageId,
    predictions: [{
      labelClassId: null, confidence: 0, logits: [], priority: seed / 100,
      geometry: { kind: 'segmentation' as const, width, height, labelMap, confidenceMap, logitsMap: new Uint8Array(0), numClasses: 0 },
    }],
  };
};

for (const target of await controllerTargets()) {
  test(`large segmentation predictions: byte-cut pages, streamed images (${target.name})`, { skip: target.skip }, async (t) => {
    const h = await target.start(t);
    if (!h) return;
    const c = h.peer;
    const pool = h.controller.database.pool;
    const project = 'maps';
    await c.createProject({
      name: project, displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_SEGMENTATION_MASKS, predictionType: AnnotationType.ANNOTATION_TYPE_SEGMENTATION_MASKS,
      settings: { modelLibrary: '', modelOptionsJson: '', rankerLibrary: '', rankerOptionsJson: '', autoTrain: { enabled: false, minNewAnnotations: 10, numWorkers: 1, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0 },
    });
    await insertImages(pool, project, Array.from({ length: 13 }, (_, i) => ({ filePath: `img${String(i).padStart(2, '0')}.png`, sizeBytes: 1, width: 1000, height: 1000 })));
    const imageIds = (await listImages(pool, project, {}, { limit: 100 })).map((i) => i.id);
    const state = (over: object = {}) => insertState(h.controller.states, { project, modelLibrary: 'x', labelClassMap: {}, stats: {}, parentId: null, numImages: 0, ...over }, Buffer.from('s'));
    const medium = await state();
    const large = await state();
    // 12 images of 400×400 (800 KB each, 9.6 MB in all) in one state; one of 1000×1000 (5 MB) in another.
    const mediumImages = imageIds.slice(0, 12).map((id, i) => segmentation(id, 400, 400, i + 1));
    await insertPredictions(pool, project, medium.id, mediumImages);
    const big = segmentation(imageIds[12]!, 1000, 1000, 7);
    await insertPredictions(pool, project, large.id, [big]);

    await t.test('ListPredictions ends pages before they overflow a message, and lists everything once', async () => {
      const seen: string[] = [];
      let pages = 0;
      for (let pageToken = ''; ; pages++) {
        const page = await c.listPredictions({ project, imageId: '', modelStateId: medium.id, pageSize: 100, pageToken });
        assert.ok(ListPredictionsResponse.encode(page).finish().length <= MAX_MESSAGE_BYTES);
        seen.push(...page.predictions.map((p) => p.imageId));
        for (const p of page.predictions) {
          const expected = mediumImages.find((m) => m.imageId === p.imageId)!.predictions[0]!.geometry;
          assert.ok(p.geometry?.$case === 'segmentation' && sha(p.geometry.value.labelMap) === sha(expected.labelMap), p.imageId);
        }
        pageToken = page.nextPageToken;
        if (!pageToken) break;
      }
      assert.deepEqual(seen.sort(), mediumImages.map((m) => m.imageId).sort());
      assert.ok(pages + 1 >= 3, `9.6 MB in pages of under 4 MB: ${pages + 1} pages`);
    });

    await t.test('a prediction larger than a message: ListPredictions says to stream it; StreamPredictions brings it whole', async () => {
      await assert.rejects(c.listPredictions({ project, imageId: '', modelStateId: large.id, pageSize: 0, pageToken: '' }),
        (e: unknown) => isAideError(e, 'RESOURCE_EXHAUSTED') && /StreamPredictions/.test(e.message));
      const kinds: string[] = [];
      const images: ImagePredictions[] = [];
      async function* responses() {
        for await (const r of c.streamPredictions({ project, imageId: '', modelStateId: large.id, imagesPerMessage: 0 })) {
          kinds.push(r.payload!.$case);
          yield r;
        }
      }
      for await (const part of readImagePredictions(responses(), { whole: payload('image'), chunk: payload('imageChunk') }, { close: true })) {
        if ('image' in part) images.push(part.image);
      }
      assert.deepEqual(kinds, ['imageChunk', 'imageChunk'], '5 MB in two chunks');
      const listed: string[] = [];
      for await (const r of c.streamPredictions({ project, imageId: '', modelStateId: large.id, imagesPerMessage: 10 })) listed.push(r.payload!.$case);
      assert.deepEqual(listed, ['imageChunk', 'imageChunk'], 'an image too large for a message comes in chunks when listing too');
      assert.equal(images.length, 1);
      const got = images[0]!.predictions[0]!;
      assert.equal(images[0]!.imageId, big.imageId);
      assert.ok(got.geometry?.$case === 'segmentation');
      const expected = big.predictions[0]!.geometry;
      assert.deepEqual([got.geometry.value.width, got.geometry.value.height, got.priority], [1000, 1000, 0.07]);
      assert.equal(sha(got.geometry.value.labelMap), sha(expected.labelMap));
      assert.equal(sha(got.geometry.value.confidenceMap), sha(expected.confidenceMap));
    });

    await t.test('StreamPredictions of the other state: every image whole, in image order; of one image: that image', async () => {
      const ids: string[] = [];
      for await (const r of c.streamPredictions({ project, imageId: '', modelStateId: medium.id, imagesPerMessage: 0 })) {
        assert.equal(r.payload?.$case, 'image');
        if (r.payload?.$case === 'image') ids.push(r.payload.value.imageId);
      }
      assert.deepEqual(ids, mediumImages.map((m) => m.imageId).sort());
      // Listed: the same images in the same order, a list cut by count and by bytes.
      const lists: ImagePredictions[][] = [];
      for await (const r of c.streamPredictions({ project, imageId: '', modelStateId: medium.id, imagesPerMessage: 3 })) {
        assert.equal(r.payload?.$case, 'images');
        if (r.payload?.$case === 'images') lists.push(r.payload.value.images);
      }
      assert.deepEqual(lists.flat().map((i) => i.imageId), ids);
      for (const list of lists) {
        const bytes = list.reduce((n, i) => n + ImagePredictions.encode(i).finish().length, 0);
        assert.ok(list.length <= 3 && (list.length === 1 || bytes <= 1 << 20), `${list.length} images, ${bytes} bytes`);
      }
      const one = [];
      for await (const r of c.streamPredictions({ project, imageId: imageIds[3]!, modelStateId: medium.id, imagesPerMessage: 0 })) one.push(r);
      assert.deepEqual(one.map((r) => r.payload?.$case === 'image' && r.payload.value.imageId), [imageIds[3]]);
    });
  });
}

/**
 * What a script driving the public API needs beyond one item at a time:
 * several label classes in one call (all or none), NextBatch filtered by
 * path and paged past its page size, StreamPredictions past a thousand images.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAideError } from '../../libs/errors.js';
import { AnnotationType } from '../../libs/gen/aide/v1/common.js';
import { insertImages } from '../../services/controller/store/images.js';
import { insertState } from '../../services/controller/store/model-states.js';
import { insertPredictions } from '../../services/controller/store/predictions.js';
import { controllerTargets } from './harness.js';

const PROJECT = 'survey';
const is = (kind: string, field?: string) => (e: unknown) =>
  isAideError(e) && e.kind === kind && (field === undefined || e.fieldViolations.some((v) => v.field === field));

for (const target of await controllerTargets()) {
  test(`scripted API: classes in bulk, NextBatch filters and pages (${target.name})`, { skip: target.skip }, async (t) => {
    const h = await target.start(t);
    if (!h) return;
    const c = h.peer;
    const pool = h.controller.database.pool;
    await c.createProject({
      name: PROJECT, displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_POINTS, predictionType: AnnotationType.ANNOTATION_TYPE_POINTS,
      settings: {
        modelLibrary: 'test.fixture', modelOptionsJson: '', rankerLibrary: '', rankerOptionsJson: '',
        autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 1, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
      },
    });

    await t.test('AddLabelClasses: in order with consecutive indices; a taken or repeated name refuses the whole call', async () => {
      await c.addLabelClass({ project: PROJECT, name: 'zebra', color: '' });
      const { labelClasses } = await c.addLabelClasses({ project: PROJECT, labelClasses: [
        { name: 'elephant', color: '#AABBCC' }, { name: 'giraffe', color: '' }, { name: 'impala', color: '' },
      ] });
      assert.deepEqual(labelClasses.map((l) => [l.name, l.index, l.color]), [['elephant', 2, '#aabbcc'], ['giraffe', 3, ''], ['impala', 4, '']]);
      await assert.rejects(c.addLabelClasses({ project: PROJECT, labelClasses: [{ name: 'kudu', color: '' }, { name: 'zebra', color: '' }] }), is('ALREADY_EXISTS'));
      await assert.rejects(c.addLabelClasses({ project: PROJECT, labelClasses: [{ name: 'kudu', color: '' }, { name: 'kudu', color: '' }] }),
        is('INVALID_ARGUMENT', 'label_classes[1].name'));
      await assert.rejects(c.addLabelClasses({ project: PROJECT, labelClasses: [{ name: 'oryx', color: 'red' }] }), is('INVALID_ARGUMENT', 'label_classes[0].color'));
      await assert.rejects(c.addLabelClasses({ project: PROJECT, labelClasses: [] }), is('INVALID_ARGUMENT', 'label_classes'));
      const names = (await c.listLabelClasses({ project: PROJECT })).labelClasses.map((l) => l.name);
      assert.deepEqual(names, ['zebra', 'elephant', 'giraffe', 'impala'], 'nothing of the refused calls was added');
    });

    await t.test('NextBatch: path prefix, excluded prefixes, pages in priority order past the page size', async () => {
      const classId = (await c.listLabelClasses({ project: PROJECT })).labelClasses[0]!.id;
      // 1,200 images in three folders, each with a distinct priority, and ties between folders.
      const paths = ['north', 'south', 'west'].flatMap((folder) => Array.from({ length: 400 }, (_, i) => `${folder}/${String(i).padStart(4, '0')}.jpg`));
      await insertImages(pool, PROJECT, paths.map((filePath) => ({ filePath, sizeBytes: 1, width: 8, height: 8 })));
      const images = (await pool.query<{ id: string; file_path: string }>('SELECT id, file_path FROM images WHERE project = $1', [PROJECT])).rows;
      const state = await insertState(h.controller.states, { project: PROJECT, modelLibrary: 'test.fixture', labelClassMap: { [classId]: 0 }, stats: {}, parentId: null, numImages: 1 }, Buffer.from('s'));
      await c.setCurrentModelState({ project: PROJECT, id: state.id });
      const priorityOf = (path: string) => Number(path.slice(-8, -4)) / 400; // the same in every folder: ties broken by image id
      await insertPredictions(pool, PROJECT, state.id, images.map((img) => ({
        imageId: img.id,
        predictions: [{ labelClassId: classId, confidence: 0.5, logits: [], priority: priorityOf(img.file_path), geometry: { kind: 'point' as const, x: 0.5, y: 0.5 } }],
      })));
      const pathOf = new Map(images.map((i) => [i.id, i.file_path]));

      const all = async (filter: { pathPrefix?: string; excludePrefixes?: string[] }, limit: number) => {
        const seen: { path: string; priority: number; id: string }[] = [];
        let pageToken = '';
        let pages = 0;
        do {
          const res = await c.nextBatch({ project: PROJECT, limit, pathPrefix: filter.pathPrefix ?? '', excludePrefixes: filter.excludePrefixes ?? [], pageToken });
          assert.ok(res.images.length <= limit);
          res.images.forEach((img, i) => seen.push({ path: pathOf.get(img.id)!, priority: res.priorities[i]!, id: img.id }));
          pageToken = res.nextPageToken;
          pages++;
        } while (pageToken !== '');
        return { seen, pages };
      };
      const ordered = (rows: { priority: number; id: string }[]) =>
        rows.every((r, i) => i === 0 || rows[i - 1]!.priority > r.priority || (rows[i - 1]!.priority === r.priority && rows[i - 1]!.id < r.id));

      const everything = await all({}, 1000);
      assert.equal(everything.pages, 2, '1,200 images: a full page of 1,000 and one more');
      assert.equal(new Set(everything.seen.map((s) => s.path)).size, 1200, 'every image once, none skipped or repeated at the page seam');
      assert.ok(ordered(everything.seen), 'highest priority first, ties by id, across pages');

      const north = await all({ pathPrefix: 'north/' }, 7);
      assert.equal(north.seen.length, 400);
      assert.ok(north.seen.every((s) => s.path.startsWith('north/')) && ordered(north.seen));

      const notSouthOrWest = await all({ excludePrefixes: ['south/', 'west/'] }, 500);
      assert.deepEqual(notSouthOrWest.seen.map((s) => s.path), north.seen.map((s) => s.path));

      // StreamPredictions reads images a group per query: past the first thousand, every image once, in id order.
      const streamed: string[] = [];
      for await (const { payload } of c.streamPredictions({ project: PROJECT, imageId: '', modelStateId: '', imagesPerMessage: 0 })) {
        if (payload?.$case === 'image') streamed.push(payload.value.imageId);
      }
      assert.deepEqual(streamed, images.map((i) => i.id).sort());
      // Several images a message: lists of 500, the last one shorter, the same images in the same order.
      const lists: string[][] = [];
      for await (const { payload } of c.streamPredictions({ project: PROJECT, imageId: '', modelStateId: '', imagesPerMessage: 500 })) {
        assert.equal(payload?.$case, 'images');
        if (payload?.$case === 'images') lists.push(payload.value.images.map((i) => i.imageId));
      }
      assert.deepEqual(lists.map((l) => l.length), [500, 500, 200]);
      assert.deepEqual(lists.flat(), streamed);
      await assert.rejects(async () => {
        for await (const _ of c.streamPredictions({ project: PROJECT, imageId: '', modelStateId: '', imagesPerMessage: 4097 })) break;
      }, is('INVALID_ARGUMENT', 'images_per_message'));

      // A page token belongs to its listing: replayed with another filter it is refused.
      const first = await c.nextBatch({ project: PROJECT, limit: 5, pathPrefix: 'north/', excludePrefixes: [], pageToken: '' });
      await assert.rejects(c.nextBatch({ project: PROJECT, limit: 5, pathPrefix: 'west/', excludePrefixes: [], pageToken: first.nextPageToken }),
        is('INVALID_ARGUMENT', 'page_token'));
      await assert.rejects(c.nextBatch({ project: PROJECT, limit: 1001, pathPrefix: '', excludePrefixes: [], pageToken: '' }), is('INVALID_ARGUMENT', 'limit'));
    });
  });
}

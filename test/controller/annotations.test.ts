import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAideError } from '../../libs/errors.js';
import { AnnotationType, type Annotation } from '../../libs/gen/aide/v1/common.js';
import { insertImages } from '../../services/controller/store/images.js';
import { controllerTargets, type ControllerClient } from './harness.js';

const noSettings = { modelLibrary: '', modelOptionsJson: '', rankerLibrary: '', rankerOptionsJson: '', autoTrain: undefined, ignoreUnlabeled: false, minAnnotationsPerImage: 0, maxTrainingImages: 0 };

type Geometry = Annotation['geometry'];

/** Refused as INVALID_ARGUMENT naming `field`, with nothing stored. */
async function refused(c: ControllerClient, project: string, good: Annotation, bad: Annotation, field: string): Promise<void> {
  await assert.rejects(c.upsertAnnotations({ project, annotations: [good, good, bad] }), (e: unknown) => {
    assert.ok(isAideError(e, 'INVALID_ARGUMENT'), String(e));
    assert.deepEqual(e.fieldViolations.map((v) => v.field), [field], e.message);
    return true;
  });
  const listed = await c.listAnnotations({ project, imageId: '', pageSize: 0, pageToken: '' });
  assert.equal(listed.annotations.length, 0, 'all-or-nothing: the valid ones were not stored either');
}

const target = (await controllerTargets()).find((t) => t.name.startsWith('pglite'))!;

test('invalid annotations of every type are refused with the field named; nothing partial is stored', async (t) => {
  const h = await target.start(t);
  if (!h) return;
  const c = h.peer;
  const pool = h.controller.database.pool;
  const setup = async (name: string, type: AnnotationType) => {
    await c.createProject({ name, displayName: '', annotationType: type, predictionType: type, settings: noSettings });
    const cls = (await c.addLabelClass({ project: name, name: 'A', color: '' })).labelClass!.id;
    await c.addLabelClass({ project: name, name: 'B', color: '' });
    await insertImages(pool, name, [{ filePath: 'a.png', sizeBytes: 1, width: 4, height: 2 }]);
    const image = (await c.listImages({ project: name, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 0, pageToken: '' })).images[0]!.id;
    const base = (geometry: Geometry, labelClassId = cls): Annotation => ({ id: '', imageId: image, labelClassId, unsure: false, author: '', createdAt: undefined, geometry });
    return { cls, image, base };
  };

  await t.test('labels', async () => {
    const { base } = await setup('labels', AnnotationType.ANNOTATION_TYPE_LABELS);
    await refused(c, 'labels', base(undefined), base(undefined, ''), 'annotations[2].label_class_id');
    await refused(c, 'labels', base(undefined), base({ $case: 'point', value: { x: 0.5, y: 0.5 } }), 'annotations[2].geometry');
  });

  await t.test('points', async () => {
    const { base } = await setup('points', AnnotationType.ANNOTATION_TYPE_POINTS);
    const point = (x: number, y: number) => base({ $case: 'point', value: { x, y } });
    await refused(c, 'points', point(0.5, 0.5), point(1.5, 0.5), 'annotations[2].point.x');
    await refused(c, 'points', point(0.5, 0.5), point(0.5, Number.NaN), 'annotations[2].point.y');
    await refused(c, 'points', point(0.5, 0.5), base(undefined), 'annotations[2].geometry');
  });

  await t.test('bounding boxes', async () => {
    const { base } = await setup('boxes', AnnotationType.ANNOTATION_TYPE_BOUNDING_BOXES);
    const box = (width: number, height: number, x = 0.5) => base({ $case: 'boundingBox', value: { x, y: 0.5, width, height } });
    await refused(c, 'boxes', box(0.1, 0.1), box(0, 0.1), 'annotations[2].bounding_box.width');
    await refused(c, 'boxes', box(0.1, 0.1), box(0.1, -1), 'annotations[2].bounding_box.height');
    await refused(c, 'boxes', box(0.1, 0.1), box(0.1, 0.1, Number.POSITIVE_INFINITY), 'annotations[2].bounding_box.x');
  });

  await t.test('segmentation masks', async () => {
    const { base } = await setup('masks', AnnotationType.ANNOTATION_TYPE_SEGMENTATION_MASKS);
    const mask = (data: number[], width = 4, height = 2) => base({ $case: 'mask', value: { data: Buffer.from(data), width, height } }, '');
    const ok = mask([0, 1, 2, 0, 0, 0, 1, 1]);
    await refused(c, 'masks', ok, mask([0, 1, 2]), 'annotations[2].mask.data');
    await refused(c, 'masks', ok, mask([0, 1, 3, 0, 0, 0, 1, 1]), 'annotations[2].mask.data');
    await refused(c, 'masks', ok, mask([0, 0, 0, 0, 0, 0], 3, 2), 'annotations[2].mask.width');
    const { annotations } = await c.upsertAnnotations({ project: 'masks', annotations: [ok] });
    const stored = annotations[0]!.geometry;
    assert.equal(stored?.$case, 'mask');
    assert.deepEqual([...(stored as { value: { data: Buffer } }).value.data], [0, 1, 2, 0, 0, 0, 1, 1]);
  });
});

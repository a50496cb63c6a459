import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { isAideError } from '../../libs/errors.js';
import { AnnotationType, JobKind, JobState } from '../../libs/gen/aide/v1/common.js';
import { Filter } from '../../libs/gen/aide/v1/controller.js';
import { insertPredictions } from '../../services/controller/store/predictions.js';
import { insertState } from '../../services/controller/store/model-states.js';
import { controllerTargets } from './harness.js';
import { withPixelData } from '../support/png-chunks.js';

const settings = (over: object = {}) => ({
  modelLibrary: 'test.fixture', modelOptionsJson: '', rankerLibrary: 'builtin.max_confidence', rankerOptionsJson: '',
  autoTrain: { enabled: false, minNewAnnotations: 10, numWorkers: 2, numEpochs: 1 }, ignoreUnlabeled: false,
  minAnnotationsPerImage: 1, maxTrainingImages: 0, ...over,
});

const kind = (e: unknown, k: string) => isAideError(e) && e.kind === k;

for (const target of await controllerTargets()) {
  test(`controller CRUD round trips (${target.name})`, { skip: target.skip }, async (t) => {
    const h = await target.start(t);
    if (!h) return;
    const c = h.peer;

    await t.test('projects', async () => {
      const { project } = await c.createProject({ name: 'birds', displayName: 'Birds', annotationType: AnnotationType.ANNOTATION_TYPE_POINTS, predictionType: AnnotationType.ANNOTATION_TYPE_POINTS, settings: settings() });
      assert.equal(project!.name, 'birds');
      assert.equal(project!.settings!.autoTrain!.numWorkers, 2);
      await assert.rejects(c.createProject({ name: 'birds', displayName: '', annotationType: 2, predictionType: 2, settings: settings() }), (e) => kind(e, 'ALREADY_EXISTS'));
      await assert.rejects(c.createProject({ name: 'Bad Name', displayName: '', annotationType: 2, predictionType: 2, settings: settings() }),
        (e) => kind(e, 'INVALID_ARGUMENT') && (e as { fieldViolations: { field: string }[] }).fieldViolations[0]!.field === 'name');
      await assert.rejects(c.createProject({ name: 'x1', displayName: '', annotationType: 2, predictionType: 2, settings: settings({ modelLibrary: 'nope' }) }),
        (e) => kind(e, 'INVALID_ARGUMENT') && (e as { fieldViolations: { field: string }[] }).fieldViolations[0]!.field === 'settings.model_library');
      await assert.rejects(c.createProject({ name: 'x2', displayName: '', annotationType: 2, predictionType: 2, settings: settings({ modelOptionsJson: '{not json' }) }),
        (e) => kind(e, 'INVALID_ARGUMENT') && (e as { fieldViolations: { field: string }[] }).fieldViolations[0]!.field === 'settings.model_options_json');
      await c.createProject({ name: 'fish', displayName: 'Fish', annotationType: AnnotationType.ANNOTATION_TYPE_SEGMENTATION_MASKS, predictionType: AnnotationType.ANNOTATION_TYPE_SEGMENTATION_MASKS, settings: settings({ modelLibrary: '', rankerLibrary: '' }) });
      assert.equal((await c.getProject({ project: 'birds' })).project!.displayName, 'Birds');
      const page1 = await c.listProjects({ pageSize: 1, pageToken: '' });
      assert.deepEqual(page1.projects.map((p) => p.name), ['birds']);
      const page2 = await c.listProjects({ pageSize: 1, pageToken: page1.nextPageToken });
      assert.deepEqual(page2.projects.map((p) => p.name), ['fish']);
      assert.equal(page2.nextPageToken, '');
      const updated = await c.updateProjectSettings({ project: 'birds', settings: settings({ maxTrainingImages: 5 }) });
      assert.equal(updated.project!.settings!.maxTrainingImages, 5);
      assert.ok(updated.warnings.length > 0, 'the fixture cannot verify its options: a warning says so');
      await c.createProject({ name: 'tmp', displayName: '', annotationType: 1, predictionType: 1, settings: settings({ modelLibrary: '' }) });
      await c.deleteProject({ project: 'tmp' });
      await assert.rejects(c.getProject({ project: 'tmp' }), (e) => kind(e, 'NOT_FOUND'));
    });

    let classA = '';
    await t.test('label classes', async () => {
      classA = (await c.addLabelClass({ project: 'birds', name: 'Heron', color: '#00ff00' })).labelClass!.id;
      const b = (await c.addLabelClass({ project: 'birds', name: 'Stork', color: '' })).labelClass!;
      assert.equal(b.index, 2);
      await assert.rejects(c.addLabelClass({ project: 'birds', name: 'Heron', color: '' }), (e) => kind(e, 'ALREADY_EXISTS'));
      await assert.rejects(c.addLabelClass({ project: 'birds', name: 'X', color: 'red' }), (e) => kind(e, 'INVALID_ARGUMENT'));
      const renamed = await c.updateLabelClass({ project: 'birds', id: b.id, name: 'White stork', color: '#ffffff' });
      assert.equal(renamed.labelClass!.name, 'White stork');
      const gone = (await c.addLabelClass({ project: 'birds', name: 'Gone', color: '' })).labelClass!;
      await c.removeLabelClass({ project: 'birds', id: gone.id });
      assert.deepEqual((await c.listLabelClasses({ project: 'birds' })).labelClasses.map((x) => [x.name, x.index]), [['Heron', 1], ['White stork', 2]]);
      await c.addLabelClass({ project: 'fish', name: 'Carp', color: '' });
    });

    const imageIds: string[] = [];
    await t.test('images: register from the FileServer, list with filters, get, golden questions', async () => {
      for (const project of ['birds', 'fish']) {
        mkdirSync(join(h.fileRoot, project, 'day1'), { recursive: true });
        for (let i = 0; i < 3; i++) {
          await sharp({ create: { width: 4, height: 3, channels: 3, background: '#808080' } }).png().toFile(join(h.fileRoot, project, 'day1', `${i}.png`));
        }
      }
      const reg = await c.registerImages({ project: 'birds', prefix: '' });
      assert.deepEqual(reg, { added: 3, alreadyKnown: 0 });
      assert.deepEqual(await c.registerImages({ project: 'birds', prefix: 'day1' }), { added: 0, alreadyKnown: 3 });
      await c.registerImages({ project: 'fish', prefix: '' });
      const list = await c.listImages({ project: 'birds', annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 2, pageToken: '' });
      assert.deepEqual(list.images.map((i) => i.filePath), ['day1/0.png', 'day1/1.png']);
      const rest = await c.listImages({ project: 'birds', annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 2, pageToken: list.nextPageToken });
      assert.deepEqual(rest.images.map((i) => i.filePath), ['day1/2.png']);
      imageIds.push(...list.images.map((i) => i.id), ...rest.images.map((i) => i.id));
      const one = (await c.getImage({ project: 'birds', id: imageIds[0]! })).image!;
      assert.deepEqual([one.width, one.height], [4, 3]);
      assert.ok(one.sizeBytes > 0);
      assert.equal((await c.setGoldenQuestions({ project: 'birds', imageIds: [imageIds[2]!], goldenQuestion: true })).updated, 1);
      const golden = await c.listImages({ project: 'birds', annotated: 0, hasPredictions: 0, goldenQuestion: Filter.FILTER_YES, pageSize: 0, pageToken: '' });
      assert.deepEqual(golden.images.map((i) => i.id), [imageIds[2]]);
      await assert.rejects(c.getImageUrl({ project: 'birds', imageId: imageIds[0]!, ttlSeconds: 60 }), (e) => kind(e, 'FAILED_PRECONDITION'));
      assert.equal(one.unreadableReason, '', 'a readable image has no reason');
    });

    await t.test('images that are not images register as unreadable, with the reason', async () => {
      await c.createProject({ name: 'mess', displayName: '', annotationType: 1, predictionType: 1, settings: settings({ modelLibrary: '' }) });
      mkdirSync(join(h.fileRoot, 'mess'), { recursive: true });
      const png = await sharp({ create: { width: 4, height: 3, channels: 3, background: '#808080' } }).png().toBuffer();
      writeFileSync(join(h.fileRoot, 'mess', 'noise.png'), randomBytes(2000));
      writeFileSync(join(h.fileRoot, 'mess', 'truncated.png'), png.subarray(0, png.length >> 1));
      writeFileSync(join(h.fileRoot, 'mess', 'fine.png'), png);
      // Every chunk whole with its CRC, the pixel data one byte short: registration checks more than the headers.
      writeFileSync(join(h.fileRoot, 'mess', 'short.png'), withPixelData(png, (raw) => raw.subarray(0, raw.length - 1)));
      assert.deepEqual(await c.registerImages({ project: 'mess', prefix: '' }), { added: 4, alreadyKnown: 0 });
      const { images } = await c.listImages({ project: 'mess', annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 0, pageToken: '' });
      assert.deepEqual(images.map((i) => [i.filePath, i.width, i.unreadableReason]), [
        ['fine.png', 4, ''], ['noise.png', 0, 'is not a readable image'], ['short.png', 0, 'is not a readable image'],
        ['truncated.png', 0, 'is not a readable image'],
      ]);
      assert.equal((await c.getImage({ project: 'mess', id: images[1]!.id })).image!.unreadableReason, 'is not a readable image');
    });

    let annotationId = '';
    await t.test('annotations: upsert, replace, list, delete; the auto-train counter counts them', async () => {
      const point = (x: number) => ({ id: '', imageId: imageIds[0]!, labelClassId: classA, unsure: false, author: 'spoofed', createdAt: undefined, geometry: { $case: 'point' as const, value: { x, y: 0.5 } } });
      const { annotations } = await c.upsertAnnotations({ project: 'birds', annotations: [point(0.1), point(0.2)] });
      assert.equal(annotations.length, 2);
      assert.equal(annotations[0]!.author, 'test-peer', 'the author is the caller, not what the client claims');
      annotationId = annotations[0]!.id;
      const replaced = await c.upsertAnnotations({ project: 'birds', annotations: [{ ...point(0.9), id: annotationId }] });
      assert.equal(replaced.annotations[0]!.id, annotationId);
      const listed = await c.listAnnotations({ project: 'birds', imageId: imageIds[0]!, pageSize: 0, pageToken: '' });
      assert.deepEqual(listed.annotations.map((a) => a.geometry?.$case === 'point' && a.geometry.value.x).sort(), [0.2, 0.9]);
      const annotated = await c.listImages({ project: 'birds', annotated: Filter.FILTER_YES, hasPredictions: 0, goldenQuestion: 0, pageSize: 0, pageToken: '' });
      assert.deepEqual(annotated.images.map((i) => [i.id, i.annotationCount]), [[imageIds[0], 2]]);
      const other = listed.annotations.find((a) => a.id !== annotationId)!;
      assert.equal((await c.deleteAnnotations({ project: 'birds', ids: [other.id] })).deleted, 1);
      const row = await h.controller.database.pool.query('SELECT annotations_since_training AS n FROM projects WHERE name = $1', ['birds']);
      assert.equal(row.rows[0].n, 3);
    });

    await t.test('model states, predictions, next batch, statistics, marketplace', async () => {
      const pool = h.controller.database.pool;
      const s1 = await insertState(h.controller.states, { project: 'birds', modelLibrary: 'test.fixture', labelClassMap: { [classA]: 1 }, stats: { loss: 0.5 }, parentId: null, numImages: 1 }, Buffer.from('state one'));
      // A statistic without a JSON form (NaN, ±Infinity) is left out rather than stored as null.
      const s2 = await insertState(h.controller.states, { project: 'birds', modelLibrary: 'test.fixture', labelClassMap: { [classA]: 1 }, stats: { loss: 0.25, gradNorm: NaN, ratio: Infinity }, parentId: null, numImages: 2 }, Buffer.from('state two'));
      assert.deepEqual(s2.stats, { loss: 0.25 });
      assert.deepEqual([s1.version, s2.version], [1, 2]);
      const current = await c.setCurrentModelState({ project: 'birds', id: s2.id });
      assert.equal(current.state!.current, true);
      const pred = (imageId: string, priority: number) => ({ imageId, predictions: [{ labelClassId: classA, confidence: 0.5, logits: [0.5, 0.5], priority, geometry: { kind: 'point' as const, x: 0.5, y: 0.5 } }] });
      await insertPredictions(pool, 'birds', s2.id, [pred(imageIds[0]!, 0.9), pred(imageIds[1]!, 0.2), pred(imageIds[2]!, 0.7)]);
      await insertPredictions(pool, 'birds', s2.id, [pred(imageIds[1]!, 0.3)]); // idempotent per (state, image)
      const preds = await c.listPredictions({ project: 'birds', imageId: '', modelStateId: '', pageSize: 0, pageToken: '' });
      assert.equal(preds.predictions.length, 3);
      const batch = await c.nextBatch({ project: 'birds', limit: 5, pathPrefix: '', excludePrefixes: [], pageToken: '' });
      assert.deepEqual(batch.images.map((i) => i.id), [imageIds[2], imageIds[1]], 'annotated image 0 is left out; highest priority first');
      assert.deepEqual(batch.priorities, [0.7, 0.3]);
      const stats = await c.getTrainingStatistics({ project: 'birds' });
      assert.deepEqual(stats.states.map((s) => [s.version, s.stats.loss, s.current]), [[1, 0.5, false], [2, 0.25, true]]);

      const shared = await c.shareModelState({ project: 'birds', modelStateId: s2.id, name: 'Herons v2', description: 'good' });
      assert.deepEqual(shared.entry!.labelClassNames, { Heron: 1 });
      await c.createProject({ name: 'birds2', displayName: '', annotationType: 2, predictionType: 2, settings: settings() });
      const heron2 = (await c.addLabelClass({ project: 'birds2', name: 'Heron', color: '' })).labelClass!.id;
      const market = await c.listMarketplace({ annotationType: AnnotationType.ANNOTATION_TYPE_POINTS });
      assert.deepEqual(market.entries.map((e) => e.name), ['Herons v2']);
      const imported = await c.importFromMarketplace({ project: 'birds2', entryId: shared.entry!.id });
      assert.equal(imported.state!.parentId, s2.id);
      assert.equal(imported.state!.version, 1);
      assert.deepEqual(imported.state!.labelClassMap, { [heron2]: 1 });
      assert.deepEqual(imported.state!.sha256, s2.sha256);

      await c.deleteModelState({ project: 'birds', id: s1.id });
      assert.deepEqual((await c.listModelStates({ project: 'birds' })).states.map((s) => s.version), [2]);
    });

    await t.test('plugins', async () => {
      const plugins = await c.listPlugins({});
      assert.deepEqual(plugins.models.map((m) => m.key), ['test.fixture']);
      assert.deepEqual(plugins.rankers.map((m) => m.key), ['builtin.max_confidence']);
      assert.match((await c.getDefaultOptions({ library: 'test.fixture' })).optionsJson, /steps/);
      const bad = await c.verifyOptions({ library: 'test.fixture', optionsJson: '[1]' });
      assert.equal(bad.valid, false);
      await assert.rejects(c.getDefaultOptions({ library: 'nope' }), (e) => kind(e, 'INVALID_ARGUMENT'));
    });

    await t.test('jobs: start (queued by the orchestrator), list, get, cancel', async () => {
      const train = (await c.startTraining({ project: 'birds', numWorkers: 0, numEpochs: 0, imageIds: [], fromScratch: false })).job!;
      assert.equal(train.kind, JobKind.JOB_KIND_TRAIN);
      assert.deepEqual(JSON.parse(train.optionsJson), { num_workers: 2, num_epochs: 1 });
      const inf = (await c.startInference({ project: 'birds', imageIds: [], goldenQuestionsOnly: true, numWorkers: 0, modelStateId: '', includeAnnotated: false })).job!;
      assert.equal(JSON.parse(inf.optionsJson).golden_questions_only, true);
      await c.startRanking({ project: 'birds', modelStateId: '' });
      const wf = (await c.startWorkflow({ project: 'birds', steps: [], fromScratch: false })).job!;
      assert.equal(JSON.parse(wf.optionsJson).steps.length, 3);
      await assert.rejects(c.startWorkflow({ project: 'birds', steps: [{ kind: JobKind.JOB_KIND_AVERAGE, numWorkers: 0, numEpochs: 0, fromScratch: false }], fromScratch: false }),
        (e) => kind(e, 'INVALID_ARGUMENT') && (e as { fieldViolations: { field: string }[] }).fieldViolations[0]!.field === 'steps[0].kind');
      await assert.rejects(c.startInference({ project: 'fish', imageIds: [], goldenQuestionsOnly: false, numWorkers: 0, modelStateId: '', includeAnnotated: false }), (e) => kind(e, 'FAILED_PRECONDITION'));

      const page1 = await c.listJobs({ project: 'birds', state: 0, kind: 0, pageSize: 3, pageToken: '' });
      assert.deepEqual(page1.jobs.map((j) => j.id).slice(0, 1), [wf.id], 'newest first');
      const page2 = await c.listJobs({ project: 'birds', state: 0, kind: 0, pageSize: 3, pageToken: page1.nextPageToken });
      const all = new Set([...page1.jobs, ...page2.jobs].map((j) => j.id));
      assert.equal(all.size, 4, 'two pages hold the four jobs, none twice');
      for (const j of [train, inf, wf]) assert.ok(all.has(j.id));
      const onlyTrain = await c.listJobs({ project: 'birds', state: 0, kind: JobKind.JOB_KIND_TRAIN, pageSize: 0, pageToken: '' });
      assert.deepEqual(onlyTrain.jobs.map((j) => j.id), [train.id]);
      assert.equal((await c.getJob({ project: 'birds', id: train.id })).job!.state, JobState.JOB_STATE_QUEUED);
      const cancelled = await c.cancelJob({ project: 'birds', id: train.id });
      assert.equal(cancelled.job!.state, JobState.JOB_STATE_CANCELLED);
      const watched = [];
      for await (const { event } of c.watchJob({ project: 'birds', id: train.id })) watched.push(event!.state);
      assert.deepEqual(watched, [JobState.JOB_STATE_CANCELLED]);
    });
  });
}

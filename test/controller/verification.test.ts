/**
 * Bad input is refused with a clear status and nothing stored: model states
 * that are no state of the model they claim (checked by the model's
 * verifyState from their first bytes), training from a state of another
 * model, unknown option keys (a warning naming them), over-long free text;
 * and DeleteProject with a queued job cancels it first (its watcher sees the
 * end, no job rows remain). The built-in models are the registry here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toChunks } from '../../libs/blob/index.js';
import { isAideError, type ErrorKind } from '../../libs/errors.js';
import { AnnotationType, JobState, type ProjectSettings } from '../../libs/gen/aide/v1/common.js';
import type { ImportModelStateRequest } from '../../libs/gen/aide/v1/controller.js';
import { LabelsClassifier } from '../../models/builtin/classifier/model.js';
import { classifierSpecs } from '../../models/builtin/classifier/network.js';
import { BoundingBoxDetector } from '../../models/builtin/detector/model.js';
import { initialParameters } from '../../models/builtin/network.js';
import { encodeState } from '../../models/builtin/state-format.js';
import { ColourHistogramModel } from '../../models/examples/colour-histogram/model.js';
import { MaxConfidenceRanker } from '../../models/rankers/max-confidence.js';
import { prngBytes } from '../blob/echo.js';
import { controllerTargets } from './harness.js';

const settings = (modelLibrary: string): ProjectSettings => ({
  modelLibrary, modelOptionsJson: '', rankerLibrary: '', rankerOptionsJson: '', autoTrain: undefined,
  ignoreUnlabeled: false, minAnnotationsPerImage: 0, maxTrainingImages: 0,
});

const ARCH = { inputSize: 32, width: 4, depth: 2, classes: 2 };
const labelsState = Buffer.from(encodeState({
  header: { model: 'builtin.labels', arch: ARCH, labelClasses: ['a', 'b'], optionsHash: 'x' },
  tensors: initialParameters(classifierSpecs(ARCH), 0),
}));

/** Rejects with `kind`, naming `field` among its violations when given. */
const refused = (call: Promise<unknown>, kind: ErrorKind, field?: string, message?: RegExp) => assert.rejects(call, (e: unknown) => {
  assert.ok(isAideError(e, kind), `expected ${kind}, got ${String(e)}`);
  if (field !== undefined) assert.deepEqual(e.fieldViolations.map((v) => v.field), [field], e.message);
  if (message) assert.match(e.message, message);
  return true;
});

for (const target of await controllerTargets()) {
  test(`bad input is refused and stores nothing; DeleteProject cancels the project's jobs first (${target.name})`, { skip: target.skip }, async (t) => {
    const h = await target.start(t, { plugins: [LabelsClassifier, BoundingBoxDetector, ColourHistogramModel, MaxConfidenceRanker] });
    if (!h) return;
    const c = h.peer;
    const pool = h.controller.database.pool;
    const LABELS = AnnotationType.ANNOTATION_TYPE_LABELS;
    const BOXES = AnnotationType.ANNOTATION_TYPE_BOUNDING_BOXES;
    await c.createProject({ name: 'labels', displayName: '', annotationType: LABELS, predictionType: LABELS, settings: settings('builtin.labels') });
    await c.createProject({ name: 'labels2', displayName: '', annotationType: LABELS, predictionType: LABELS, settings: settings('builtin.labels') });
    await c.createProject({ name: 'boxes', displayName: '', annotationType: BOXES, predictionType: BOXES, settings: settings('builtin.boundingBoxes') });
    const importState = async (project: string, modelLibrary: string, bytes: Buffer) => {
      const requests: ImportModelStateRequest[] = [{ payload: { $case: 'header', value: { project, modelLibrary, labelClassMap: {}, stats: {}, size: bytes.length, numImages: 1 } } }];
      for await (const chunk of toChunks(bytes)) requests.push({ payload: { $case: 'chunk', value: chunk } });
      return (await c.importModelState(requests)).state!;
    };
    // Rows and files (parts included) of the state folder.
    const stored = async () => Number((await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM model_states')).rows[0]!.n) + (await h.controller.states.blobs.list()).length;

    await t.test('model states: refused unless the bytes are a state of the declared model, which suits the project', async () => {
      await refused(importState('labels', 'builtin.labels', prngBytes(96 * 1024, 5)), 'INVALID_ARGUMENT', 'chunk', /wrong magic bytes/);
      await refused(importState('boxes', 'builtin.labels', labelsState), 'INVALID_ARGUMENT', 'header.model_library', /learns from labels/);
      await refused(importState('boxes', 'builtin.boundingBoxes', labelsState), 'INVALID_ARGUMENT', 'chunk', /from 'builtin\.labels', not 'builtin\.boundingBoxes'/);
      const cut = labelsState.subarray(0, labelsState.length - 4);
      await refused(importState('labels', 'builtin.labels', cut), 'INVALID_ARGUMENT', 'chunk', /the state has/);
      assert.equal(Number(await stored()), 0, 'nothing stored');
      for (const project of ['labels', 'boxes']) assert.deepEqual((await c.listModelStates({ project })).states, [], project);

      const state = await importState('labels', 'builtin.labels', labelsState);
      assert.equal(state.version, 1);
      assert.equal(state.current, false, 'an import is the next version, not the current one');
    });

    await t.test('training never starts from a state of another model: refused loudly, not trained afresh', async () => {
      const [v1] = (await c.listModelStates({ project: 'labels' })).states;
      await c.setCurrentModelState({ project: 'labels', id: v1!.id });
      const switched = await c.updateProjectSettings({ project: 'labels', settings: settings('examples.colour_histogram') });
      assert.ok(switched.warnings.some((w) => /no state of 'examples\.colour_histogram' yet/.test(w)), switched.warnings.join('; '));
      assert.deepEqual((await c.listModelStates({ project: 'labels' })).states.map((s) => s.current), [false], 'a change of model leaves no state of the old one current');
      await c.setCurrentModelState({ project: 'labels', id: v1!.id });
      await refused(c.startTraining({ project: 'labels', numWorkers: 0, numEpochs: 0, imageIds: [], fromScratch: false }), 'FAILED_PRECONDITION', undefined, /is of model 'builtin\.labels'.*trains 'examples\.colour_histogram'/);
      await refused(c.startWorkflow({ project: 'labels', steps: [], fromScratch: false }), 'FAILED_PRECONDITION', undefined, /is of model 'builtin\.labels'/);
      const back = await c.updateProjectSettings({ project: 'labels', settings: settings('builtin.labels') });
      assert.ok(back.warnings.some((w) => /v1 of 'builtin\.labels' is now current/.test(w)), back.warnings.join('; '));
      assert.equal((await c.startTraining({ project: 'labels', numWorkers: 0, numEpochs: 0, imageIds: [], fromScratch: false })).job!.state, JobState.JOB_STATE_QUEUED);
    });

    await t.test('the marketplace copies only states the target model takes', async () => {
      const [v1] = (await c.listModelStates({ project: 'labels' })).states;
      const shared = await c.shareModelState({ project: 'labels', modelStateId: v1!.id, name: 'labels v1', description: '' });
      assert.equal((await c.importFromMarketplace({ project: 'labels2', entryId: shared.entry!.id })).state!.version, 1);
      await refused(c.importFromMarketplace({ project: 'boxes', entryId: shared.entry!.id }), 'FAILED_PRECONDITION');
    });

    await t.test('options: unknown keys are named in a warning', async () => {
      const verified = await c.verifyOptions({ library: 'builtin.labels', optionsJson: '{"training": {"epoch": 5}}' });
      assert.equal(verified.valid, true);
      assert.ok(verified.warnings.includes('unknown option training ignored'), verified.warnings.join('; '));
      const update = await c.updateProjectSettings({ project: 'labels', settings: { ...settings('builtin.labels'), modelOptionsJson: '{"options": {"training": {"epoch": 5}}}' } });
      assert.ok(update.warnings.includes('unknown option options.training.epoch ignored'), update.warnings.join('; '));
    });

    await t.test('free text: over-long values are INVALID_ARGUMENT naming the field', async () => {
      const mib = 'x'.repeat(1 << 20);
      const annotation = { id: '', imageId: '00000000-0000-0000-0000-000000000000', labelClassId: '', unsure: false, author: mib, createdAt: undefined, geometry: undefined };
      await refused(c.upsertAnnotations({ project: 'labels', annotations: [annotation] }), 'INVALID_ARGUMENT', 'annotations[0].author');
      await refused(c.addLabelClass({ project: 'labels', name: 'x'.repeat(201), color: '' }), 'INVALID_ARGUMENT', 'name');
      await refused(c.createProject({ name: 'long', displayName: mib, annotationType: LABELS, predictionType: LABELS, settings: settings('') }), 'INVALID_ARGUMENT', 'display_name');
      const [v1] = (await c.listModelStates({ project: 'labels' })).states;
      await refused(c.shareModelState({ project: 'labels', modelStateId: v1!.id, name: 'ok', description: mib }), 'INVALID_ARGUMENT', 'description');
    });

    await t.test('DeleteProject with a queued job: the job is cancelled (its watcher sees it end), then everything goes', async () => {
      const job = (await c.startTraining({ project: 'labels', numWorkers: 0, numEpochs: 0, imageIds: [], fromScratch: false })).job!;
      await c.deleteProject({ project: 'labels' });
      // Watchers follow the bus (which keeps a job's events for late ones): they see it end.
      const events: JobState[] = [];
      for await (const { event } of h.bus.watch('labels', job.id)) events.push(event.state);
      assert.deepEqual(events, [JobState.JOB_STATE_CANCELLED]);
      const { rows } = await pool.query<{ jobs: number; events: number; states: number }>(
        `SELECT (SELECT count(*) FROM jobs WHERE project = 'labels')::int AS jobs, (SELECT count(*) FROM job_events)::int AS events,
           (SELECT count(*) FROM model_states WHERE project = 'labels')::int AS states`);
      assert.deepEqual(rows[0], { jobs: 0, events: 0, states: 0 });
      await refused(c.getProject({ project: 'labels' }), 'NOT_FOUND');
    });
  });
}

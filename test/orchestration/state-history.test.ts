/**
 * Model-state history through the API with the real job runner and in-process
 * workers (fixture model: every image gets one point prediction at (0.5, 0.25)
 * of the project's first class): training statistics as a time series, an old
 * state made current and predicting, and golden-question accuracy per state
 * against a count by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AnnotationType, JobKind, JobState } from '../../libs/gen/aide/v1/common.js';
import { insertImages } from '../../services/controller/store/images.js';
import { startOrchestratedController } from '../support/orchestrated-controller.js';

const PROJECT = 'history';

test('state history: statistics in order, an old state made current predicts, golden-question accuracy per state', async (t) => {
  const mesh = await startOrchestratedController(t);
  if (!mesh) return;
  const { client: c, db } = mesh;
  await c.createProject({
    name: PROJECT, displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_POINTS, predictionType: AnnotationType.ANNOTATION_TYPE_POINTS,
    settings: {
      modelLibrary: 'test.fixture', modelOptionsJson: JSON.stringify({ steps: 1, stepMs: 1 }), rankerLibrary: '', rankerOptionsJson: '',
      autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 1, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
    },
  });
  const zebra = (await c.addLabelClass({ project: PROJECT, name: 'zebra', color: '' })).labelClass!.id;
  await insertImages(db, PROJECT, ['g0', 'g1', 'g2', 'g3', 'plain'].map((name) => ({ filePath: `${name}.jpg`, sizeBytes: 1, width: 10, height: 10 })));
  const ids = Object.fromEntries((await c.listImages({ project: PROJECT, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 0, pageToken: '' }))
    .images.map((i) => [i.filePath.replace('.jpg', ''), i.id]));
  const point = (image: string, x: number, y: number) => ({
    id: '', imageId: ids[image]!, labelClassId: zebra, unsure: false, author: '', createdAt: undefined, geometry: { $case: 'point' as const, value: { x, y } },
  });
  // The known answers. Against one prediction per image at (0.5, 0.25), matched within 0.05:
  // g0: one hit, one miss; g1: a hit (0.036 away); g2: a false positive and a miss; g3: no answer (not scored).
  await c.upsertAnnotations({ project: PROJECT, annotations: [point('g0', 0.5, 0.25), point('g0', 0.9, 0.9), point('g1', 0.53, 0.27), point('g2', 0.1, 0.1)] });
  await c.setGoldenQuestions({ project: PROJECT, imageIds: ['g0', 'g1', 'g2', 'g3'].map((g) => ids[g]!), goldenQuestion: true });
  const run = async (job: Promise<{ job?: { id: string } }>) => {
    const events = await mesh.finish(PROJECT, (await job).job!.id);
    assert.equal(events.at(-1)!.state, JobState.JOB_STATE_SUCCEEDED, events.at(-1)!.message);
    return events.at(-1)!;
  };

  await t.test('three successive states: their statistics come back from the API in order', async () => {
    for (const images of [['g0'], ['g0', 'g1'], ['g0', 'g1', 'g2']]) {
      await run(c.startTraining({ project: PROJECT, numWorkers: 1, numEpochs: 1, imageIds: images.map((g) => ids[g]!), fromScratch: false }));
    }
    const { states } = await c.getTrainingStatistics({ project: PROJECT });
    // The fixture reports images = n and loss = 1 / (1 + n) for n training images.
    assert.deepEqual(states.map((s) => [s.version, s.numImages, s.stats]), [
      [1, 1, { images: 1, loss: 1 / 2 }], [2, 2, { images: 2, loss: 1 / 3 }], [3, 3, { images: 3, loss: 1 / 4 }],
    ]);
    const times = states.map((s) => s.createdAt!.getTime());
    assert.deepEqual(times, [...times].sort((a, b) => a - b), 'a time series');
    assert.deepEqual(states.map((s) => s.current), [false, false, true]);
  });

  await t.test('an old state made current again predicts, and its predictions are stored against it', async () => {
    const [v1, , v3] = (await c.listModelStates({ project: PROJECT })).states;
    const made = await c.setCurrentModelState({ project: PROJECT, id: v1!.id });
    assert.equal(made.state!.current, true);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM model_states WHERE project = $1', [PROJECT]);
    assert.equal(rows[0]!.n, 3, 'no copy: still three states');
    const end = await run(c.startInference({ project: PROJECT, imageIds: [], goldenQuestionsOnly: true, numWorkers: 1, modelStateId: '', includeAnnotated: false }));
    assert.match(end.message, /with state v1; scored 3 golden question/);
    const ofState = async (modelStateId: string) =>
      (await c.listPredictions({ project: PROJECT, imageId: '', modelStateId, pageSize: 0, pageToken: '' })).predictions;
    const v1Predictions = await ofState(v1!.id);
    assert.deepEqual(new Set(v1Predictions.map((p) => p.imageId)), new Set(['g0', 'g1', 'g2', 'g3'].map((g) => ids[g])), 'the golden questions only');
    assert.ok(v1Predictions.every((p) => p.modelStateId === v1!.id));
    assert.deepEqual((await ofState('')).map((p) => p.id).sort(), v1Predictions.map((p) => p.id).sort(), 'the current state\'s');
    assert.deepEqual(await ofState(v3!.id), [], 'none against the newest state');
  });

  await t.test('golden-question accuracy is stored per state and matches the count by hand', async () => {
    const v3 = (await c.listModelStates({ project: PROJECT })).states[2]!;
    await run(c.startInference({ project: PROJECT, imageIds: [], goldenQuestionsOnly: true, numWorkers: 1, modelStateId: v3.id, includeAnnotated: false }));
    const { goldenAccuracy } = await c.getTrainingStatistics({ project: PROJECT });
    // 3 predictions (g0, g1, g2), 4 annotations, 2 matched: precision 2/3, recall 1/2, F1 4/7.
    assert.deepEqual(goldenAccuracy.map((g) => [g.version, g.predictionType, g.images, g.matched, g.predicted, g.annotated]), [
      [1, AnnotationType.ANNOTATION_TYPE_POINTS, 3, 2, 3, 4], [3, AnnotationType.ANNOTATION_TYPE_POINTS, 3, 2, 3, 4],
    ]);
    for (const g of goldenAccuracy) {
      assert.ok(Math.abs(g.precision - 2 / 3) < 1e-12 && g.recall === 0.5 && Math.abs(g.score - 4 / 7) < 1e-12, JSON.stringify(g));
    }
    const { rows } = await db.query('SELECT count(*)::int AS n FROM golden_results');
    assert.equal(rows[0].n, 6, 'per image and state');

    // An image that is no longer a golden question no longer counts; one whose answer changed counts anew when predicted again.
    await c.setGoldenQuestions({ project: PROJECT, imageIds: [ids.g2!], goldenQuestion: false });
    await c.upsertAnnotations({ project: PROJECT, annotations: [point('g3', 0.5, 0.29)] });
    await run(c.startInference({ project: PROJECT, imageIds: [], goldenQuestionsOnly: true, numWorkers: 1, modelStateId: v3.id, includeAnnotated: false }));
    const after = (await c.getTrainingStatistics({ project: PROJECT })).goldenAccuracy;
    assert.deepEqual(after.map((g) => [g.version, g.images, g.matched, g.predicted, g.annotated]), [[1, 2, 2, 2, 3], [3, 3, 3, 3, 4]]);
  });

  await t.test('from scratch: a training (or a workflow\'s first train step) that ignores the current state; versions never reused', async () => {
    const current = async () => (await c.listModelStates({ project: PROJECT })).states.find((s) => s.current)!;
    const train = (fromScratch: boolean) => run(c.startTraining({ project: PROJECT, numWorkers: 1, numEpochs: 1, imageIds: [ids.g0!], fromScratch }));
    const v1 = await current();
    await train(false);
    const continued = await current();
    assert.deepEqual([continued.version, continued.parentId], [4, v1.id], 'continues from the current state');
    await train(true);
    const scratch = await current();
    assert.deepEqual([scratch.version, scratch.parentId], [5, ''], 'from fresh weights: no parent');

    // The newest state deleted: its number is not handed to the next one (statistics by version would alias).
    await c.setCurrentModelState({ project: PROJECT, id: continued.id });
    await c.deleteModelState({ project: PROJECT, id: scratch.id });
    await train(false);
    assert.equal((await current()).version, 6);

    const step = (kind: JobKind) => ({ kind, numWorkers: 1, numEpochs: 1, fromScratch: false });
    const wf = (await c.startWorkflow({ project: PROJECT, steps: [step(JobKind.JOB_KIND_INFERENCE), step(JobKind.JOB_KIND_TRAIN)], fromScratch: true })).job!;
    await run(Promise.resolve({ job: wf }));
    const { steps } = await c.getJob({ project: PROJECT, id: wf.id });
    assert.deepEqual(steps.map((s) => JSON.parse(s.optionsJson).from_scratch ?? false), [false, true], 'the train step, not inference');
    const latest = await current();
    assert.deepEqual([latest.version, latest.parentId], [7, '']);
  });
});

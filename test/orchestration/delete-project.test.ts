/**
 * DeleteProject while a training job of the project runs (real job runner,
 * in-process workers, fixture model): the job is cancelled and has stopped
 * writing before the project's rows go, so nothing of it remains and nothing
 * fails on a foreign key afterwards (the logs say so).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { AnnotationType, JobState } from '../../libs/gen/aide/v1/common.js';
import { insertImages } from '../../services/controller/store/images.js';
import { startOrchestratedController } from '../support/orchestrated-controller.js';

const PROJECT = 'doomed';

test('DeleteProject with a running training job: the job is cancelled and stops first; no rows remain, no foreign-key errors', { timeout: 60_000 }, async (t) => {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => { lines.push(line); } });
  const mesh = await startOrchestratedController(t, { logger });
  if (!mesh) return;
  const { client: c, db } = mesh;
  await c.createProject({
    name: PROJECT, displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_POINTS, predictionType: AnnotationType.ANNOTATION_TYPE_POINTS,
    settings: {
      // Long enough that it is still training when the delete comes; it stops at the next step once cancelled.
      modelLibrary: 'test.fixture', modelOptionsJson: JSON.stringify({ steps: 100_000, stepMs: 5 }), rankerLibrary: '', rankerOptionsJson: '',
      autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 1, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
    },
  });
  const zebra = (await c.addLabelClass({ project: PROJECT, name: 'zebra', color: '' })).labelClass!.id;
  await insertImages(db, PROJECT, [{ filePath: 'a.jpg', sizeBytes: 1, width: 10, height: 10 }]);
  const [image] = (await c.listImages({ project: PROJECT, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 0, pageToken: '' })).images;
  await c.upsertAnnotations({ project: PROJECT, annotations: [{ id: '', imageId: image!.id, labelClassId: zebra, unsure: false, author: '', createdAt: undefined, geometry: { $case: 'point', value: { x: 0.5, y: 0.5 } } }] });

  const job = (await c.startTraining({ project: PROJECT, numWorkers: 1, numEpochs: 1, imageIds: [], fromScratch: false })).job!;
  // Until the worker reports training progress: the job runs and writes.
  for await (const { event } of c.watchJob({ project: PROJECT, id: job.id })) {
    if (event?.state === JobState.JOB_STATE_RUNNING && event.done > 0) break;
  }

  await c.deleteProject({ project: PROJECT });
  const { rows } = await db.query<{ jobs: number; events: number; states: number }>(
    `SELECT (SELECT count(*) FROM jobs)::int AS jobs, (SELECT count(*) FROM job_events)::int AS events, (SELECT count(*) FROM model_states)::int AS states`);
  assert.deepEqual(rows[0], { jobs: 0, events: 0, states: 0 });
  // The runner's last event (stored, then published) is its CANCELLED one: once watchers see it, the job has written all it will.
  const states: JobState[] = [];
  for await (const { event } of mesh.bus.watch(PROJECT, job.id)) states.push(event.state);
  assert.equal(states.at(-1), JobState.JOB_STATE_CANCELLED);
  assert.deepEqual((await db.query('SELECT * FROM job_events')).rows, [], 'no event stored after the delete');

  const problems = lines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50 || /fkey|foreign key|not recorded/i.test(line));
  assert.deepEqual(problems, []);
});

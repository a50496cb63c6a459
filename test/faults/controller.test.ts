/**
 * Controller faults with its processes apart (mTLS, one worker, the test
 * fixture model slowed to ~1 s per call): a controller killed mid-workflow
 * and restarted finishes the workflow exactly once; its Postgres connections
 * cut mid-job leave a finished job and whole states or nothing; state
 * imports that are not the project's model's are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isTerminalState } from '../../libs/bus/bus.js';
import { toChunks } from '../../libs/blob/index.js';
import { isAideError } from '../../libs/errors.js';
import { AnnotationType, JobKind, JobState, type Job } from '../../libs/gen/aide/v1/common.js';
import type { ImportModelStateRequest } from '../../libs/gen/aide/v1/controller.js';
import { waitUntil } from '../support/wait.js';
import { meshUnavailable, predictionIds, startTraining, startWorkflow, startMesh, tinyClassifierOptions, type Controller, type Mesh } from './mesh-processes.js';

const skip = await meshUnavailable();
const IMAGES = 24;
const LABELLED = 16;

async function jobsOf(api: Controller, project: string, kind: JobKind): Promise<Job[]> {
  return (await api.listJobs({ project, state: 0, kind, pageSize: 100, pageToken: '' })).jobs;
}

/** Model states of the project that are partial, or whose file in the state folder is missing or not of their size. */
async function brokenStates(mesh: Mesh, project: string): Promise<string[]> {
  const { rows } = await mesh.db.query<{ id: string; partial: boolean; version: number | null; size: string }>(
    'SELECT s.id, s.partial, s.version, s.size_bytes::text AS size FROM model_states s WHERE s.project = $1', [project]);
  const stored = async (id: string) => String((await stat(join(mesh.stateDir, id)).catch(() => undefined))?.size ?? 'missing');
  const found = await Promise.all(rows.map(async (r) => ({ ...r, stored: await stored(r.id) })));
  return found.filter((r) => r.partial || r.version === null || r.size !== r.stored)
    .map((r) => `${r.id}: partial ${r.partial}, version ${r.version}, ${r.stored} of ${r.size} bytes`);
}

const importRequests = async (project: string, modelLibrary: string, bytes: Uint8Array): Promise<ImportModelStateRequest[]> => {
  const out: ImportModelStateRequest[] = [{ payload: { $case: 'header', value: { project, modelLibrary, labelClassMap: {}, stats: {}, size: bytes.length, numImages: 1 } } }];
  for await (const chunk of toChunks(bytes)) out.push({ payload: { $case: 'chunk', value: chunk } });
  return out;
};

test('controller faults (mTLS, 1 worker, the fixture model)', { skip, timeout: 180_000 }, async (t) => {
  const mesh = await startMesh(t, { tls: true, workers: 1 });
  const { name, images } = await mesh.fixtureProject('controller', { images: IMAGES, labelled: LABELLED, steps: 10, stepMs: 100 });
  const versions = async () => (await mesh.api.listModelStates({ project: name })).states.map((s) => s.version).sort((a, b) => a - b);

  await t.test('kill -9 of the controller mid-workflow, then a restart: the workflow completes exactly once', async () => {
    const { id: wf } = await startWorkflow(mesh.api, name, [
      { kind: JobKind.JOB_KIND_TRAIN, numWorkers: 1, numEpochs: 2 },
      { kind: JobKind.JOB_KIND_INFERENCE, numWorkers: 1 },
      { kind: JobKind.JOB_KIND_RANK },
    ]);
    // Mid-workflow: in the first of its training's two rounds (~1 s each, of the fixture's steps).
    await mesh.waitForJob(name, wf, 'the workflow training', async () =>
      (await jobsOf(mesh.api, name, JobKind.JOB_KIND_TRAIN)).some((j) => j.parentId === wf && j.state === JobState.JOB_STATE_RUNNING), 30_000);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await mesh.job(name, wf)).state, JobState.JOB_STATE_RUNNING, 'the workflow was still running');
    assert.equal(await mesh.controller.kill('SIGKILL'), null);
    await mesh.controller.start();

    const end = await mesh.waitForJob(name, wf, 'the workflow to end', (j) => isTerminalState(j.state), 60_000);
    assert.equal(end.state, JobState.JOB_STATE_SUCCEEDED, end.message);
    const children = (await jobsOf(mesh.api, name, 0)).filter((j) => j.parentId === wf);
    assert.deepEqual(children.map((j) => j.kind).sort(), [JobKind.JOB_KIND_TRAIN, JobKind.JOB_KIND_INFERENCE, JobKind.JOB_KIND_RANK].sort(), 'one job per step');
    assert.ok(children.every((j) => j.state === JobState.JOB_STATE_SUCCEEDED), JSON.stringify(children.map((j) => [j.kind, j.state, j.message])));
    assert.deepEqual(await versions(), [1], 'one state for the one training');
    assert.deepEqual(await brokenStates(mesh, name), []);
    const predicted = await predictionIds(mesh.api, name);
    assert.equal(predicted.size, IMAGES - LABELLED, 'a prediction for each unlabelled image');
    assert.ok([...predicted.values()].every((ids) => ids.length === 1), `no duplicate predictions: ${JSON.stringify([...predicted.values()].map((ids) => ids.length))}`);
  });

  await t.test("the controller's Postgres connections killed mid-job: the job ends (recovered or failed), nothing half-written", async () => {
    const before = await versions();
    const id = await startTraining(mesh.api, name, 1, 2);
    await mesh.waitForJob(name, id, 'the training under way', (j) => j.state === JobState.JOB_STATE_RUNNING && Number(j.done) > 0, 30_000);
    const cut = async () => (await mesh.db.query<{ n: number }>(
      'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = $1', [mesh.controllerAppName])).rows[0]!.n;
    assert.ok(await cut() > 0, 'the controller had connections to cut');
    await new Promise((r) => setTimeout(r, 700));
    await cut(); // once more, in the next round or while it stores

    // A call that drew a cut connection may fail (the public API is not what this scenario is about): poll on.
    const end = await waitUntil('the job to end', async () => {
      const j = await mesh.job(name, id).catch(() => undefined);
      return j && isTerminalState(j.state) && j;
    }, 60_000, 50);
    assert.ok(mesh.controller.running, 'the controller survived');
    assert.ok(end.state === JobState.JOB_STATE_SUCCEEDED || end.state === JobState.JOB_STATE_FAILED, `ended ${JobState[end.state]}: ${end.message}`);
    assert.deepEqual(await brokenStates(mesh, name), [], 'no partial or torn state');
    const after = await versions();
    assert.deepEqual(after, after.map((_, i) => i + 1), 'versions stay contiguous');
    assert.equal(after.length, before.length + (end.state === JobState.JOB_STATE_SUCCEEDED ? 1 : 0), 'one state if it succeeded, none if not');
    const { rows } = await mesh.db.query<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE project = $1 AND state IN ('queued', 'running')", [name]);
    assert.equal(rows[0]!.n, 0, 'no job left hanging');
  });

  await t.test('garbage with a correct SHA-256 and another model\'s state are refused with INVALID_ARGUMENT, storing nothing', async () => {
    const labels = 'labels-import';
    await mesh.api.createProject({
      name: labels, displayName: labels, annotationType: AnnotationType.ANNOTATION_TYPE_LABELS, predictionType: AnnotationType.ANNOTATION_TYPE_LABELS,
      settings: {
        modelLibrary: 'builtin.labels', modelOptionsJson: tinyClassifierOptions(), rankerLibrary: 'builtin.max_confidence', rankerOptionsJson: '',
        autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 1, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
      },
    });
    await mesh.api.addLabelClass({ project: labels, name: 'red', color: '#ff0000' });
    const fixtureState: Buffer[] = [];
    const [current] = (await mesh.api.listModelStates({ project: name })).states.sort((a, b) => b.version - a.version);
    for await (const m of mesh.api.exportModelState({ project: name, id: current!.id })) if (m.payload?.$case === 'chunk') fixtureState.push(m.payload.value.data);

    for (const [what, requests] of [
      ['random bytes', await importRequests(labels, 'builtin.labels', randomBytes(4096))],
      ["the fixture model's state as builtin.labels", await importRequests(labels, 'builtin.labels', Buffer.concat(fixtureState))],
      ["the fixture model's state under its own name", await importRequests(labels, 'test.fixture', Buffer.concat(fixtureState))],
    ] as const) {
      await assert.rejects(mesh.api.importModelState(requests), (e: unknown) => {
        assert.ok(isAideError(e, 'INVALID_ARGUMENT'), `${what}: ${(e as Error).message}`);
        return true;
      }, `${what} was accepted`);
    }
    assert.deepEqual((await mesh.api.listModelStates({ project: labels })).states, [], 'nothing stored');
    const { rows } = await mesh.db.query<{ n: number }>('SELECT count(*)::int AS n FROM model_states WHERE project = $1', [labels]);
    assert.equal(rows[0]!.n, 0, 'not even a partial state');
    assert.equal(images.size, IMAGES);
  });
});

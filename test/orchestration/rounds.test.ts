/**
 * Multi-round (federated-averaging) training through the controller's job
 * runner and two in-process workers with the fixture model (weights vector;
 * training adds per-image features; averaging is the image-weighted mean),
 * against the same rounds done by hand with the worker API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { isAideError } from '../../libs/errors.js';
import { AnnotationType, JobState, type LabelClass } from '../../libs/gen/aide/v1/common.js';
import { averageStates, train, workerClient } from '../../libs/worker-client/worker-client.js';
import { toImageData } from '../../services/controller/orchestration/job-header.js';
import { shardByPath } from '../../services/controller/orchestration/shards.js';
import { insertImages, trainingImages } from '../../services/controller/store/images.js';
import { insertState } from '../../services/controller/store/model-states.js';
import { decodeWeights, encodeWeights, fixtureCalls } from '../support/fixture-model.js';
import { startOrchestratedController, type ControllerClient } from '../support/orchestrated-controller.js';
import { waitUntil } from '../support/wait.js';

const PROJECT = 'rounds';
const XS = [0.1, 0.2, 0.3, 0.4, 0.5];

async function exported(c: ControllerClient, id: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const m of c.exportModelState({ project: PROJECT, id })) if (m.payload?.$case === 'chunk') parts.push(m.payload.value.data);
  return Buffer.concat(parts);
}

/** The rounds by hand: each round trains the shards (round robin over the training images in path order) from the same input on the two workers, then averages on the first. */
async function byHand(db: pg.Pool, addresses: string[], classes: LabelClass[], modelOptionsJson: string, input: Buffer, rounds: number) {
  const images = toImageData(await trainingImages(db, PROJECT, { minAnnotations: 1, maxImages: 0 }));
  const shards = shardByPath(images, 2);
  const clients = addresses.map((a) => workerClient(a));
  const header = {
    jobId: 'by-hand', project: PROJECT, modelLibrary: 'test.fixture', modelOptionsJson, labelClasses: classes,
    annotationType: AnnotationType.ANNOTATION_TYPE_POINTS, predictionType: AnnotationType.ANNOTATION_TYPE_POINTS, ignoreUnlabeled: false, traceparent: '',
  };
  try {
    let state = input;
    let stats: Record<string, number> = {};
    for (let r = 0; r < rounds; r++) {
      const outs = await Promise.all(shards.map((s, i) => train(clients[i]!, header, s, state)));
      const averaged = await averageStates(clients[0]!, header, outs.map((o, i) => ({ state: o.state, numImages: shards[i]!.length })));
      state = averaged.state;
      stats = {};
      // Image counts add up over the shards; every other statistic is their mean weighted by shard size.
      for (const [i, o] of outs.entries()) {
        for (const [k, v] of Object.entries(o.result.stats)) stats[k] = (stats[k] ?? 0) + (k === 'images' ? v : v * shards[i]!.length / images.length);
      }
    }
    return { state, stats };
  } finally {
    for (const c of clients) c.close();
  }
}

interface Snapshot { current: string | null; partial: { round: number; shard: number | null }[] }

/**
 * Samples the project's current state and partial states every 5 ms until `until` settles, and once more after:
 * the last sample always sees the ended job's outcome, however little time the end left. `first` resolves once
 * the first sample is in: a job started after it cannot have moved the current state unseen, however slow the
 * machine.
 */
function watchStates(db: pg.Pool, until: Promise<unknown>): { first: Promise<void>; all: Promise<Snapshot[]> } {
  const snapshots: Snapshot[] = [];
  let done = false;
  let sampled!: () => void;
  const first = new Promise<void>((resolve) => { sampled = resolve; });
  void until.finally(() => { done = true; });
  const all = (async () => {
    for (;;) {
      const last = done;
      const { rows } = await db.query<{ round: number; shard: number | null; current: string | null }>(
        `SELECT s.round, s.shard, p.current_state_id AS current FROM projects p LEFT JOIN model_states s ON s.project = p.name AND s.partial WHERE p.name = $1`, [PROJECT]);
      snapshots.push({ current: rows[0]!.current, partial: rows.filter((r) => r.round !== null).map((r) => ({ round: r.round, shard: r.shard })) });
      sampled();
      if (last) return snapshots;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return { first, all };
}

const partialCount = async (db: pg.Pool) => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM model_states WHERE partial')).rows[0]!.n;

test('training rounds: K workers per round, averaged, chained; partial states; failure; resume after a restart', async (t) => {
  const mesh = await startOrchestratedController(t);
  if (!mesh) return;
  const { client: c, db } = mesh;
  const settings = (options: object) => ({
    modelLibrary: 'test.fixture', modelOptionsJson: JSON.stringify(options), rankerLibrary: '', rankerOptionsJson: '',
    autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 2, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
  });
  // Steps 150 ms apart, beyond the 10-a-second progress throttle, so the watcher sees every phase's reports.
  await c.createProject({ name: PROJECT, displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_POINTS, predictionType: AnnotationType.ANNOTATION_TYPE_POINTS, settings: settings({ steps: 3, stepMs: 150 }) });
  const { labelClass } = await c.addLabelClass({ project: PROJECT, name: 'zebra', color: '' });
  await insertImages(db, PROJECT, Array.from({ length: 6 }, (_, i) => ({ filePath: `img/${i}.jpg`, sizeBytes: 1, width: 1, height: 1 })));
  const images = (await c.listImages({ project: PROJECT, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 0, pageToken: '' })).images;
  // Five training images (shards of 3 and 2: the average is weighted), one left unannotated.
  await c.upsertAnnotations({ project: PROJECT, annotations: XS.map((x, i) => ({
    id: '', imageId: images[i]!.id, labelClassId: labelClass!.id, unsure: false, author: '', createdAt: undefined, geometry: { $case: 'point' as const, value: { x, y: 0.5 } },
  })) });
  const classes = (await c.listLabelClasses({ project: PROJECT })).labelClasses;
  const baseBytes = Buffer.from(encodeWeights([1, 2, 3, 4]));
  const base = await insertState(mesh.states, { project: PROJECT, modelLibrary: 'test.fixture', labelClassMap: { [labelClass!.id]: 1 }, stats: {}, parentId: null, numImages: 0 }, baseBytes);
  await c.setCurrentModelState({ project: PROJECT, id: base.id });
  const useOptions = async (options: object) => c.updateProjectSettings({ project: PROJECT, settings: settings(options) });

  await t.test('3 rounds on 2 workers store the state the same rounds give by hand; round states stay partial until superseded', async () => {
    let jobEnded!: () => void;
    const watching = watchStates(db, new Promise<void>((resolve) => { jobEnded = resolve; }));
    await watching.first;
    const { job } = await c.startTraining({ project: PROJECT, numWorkers: 2, numEpochs: 3, imageIds: [], fromScratch: false });
    const all = await mesh.finish(PROJECT, job!.id).finally(jobEnded);
    const snapshots = await watching.all;
    assert.equal(all.at(-1)!.state, JobState.JOB_STATE_SUCCEEDED, all.at(-1)!.message);

    const states = (await c.listModelStates({ project: PROJECT })).states;
    assert.deepEqual(states.map((s) => s.version), [1, 2]);
    const trained = states[1]!;
    assert.equal(trained.current, true);
    assert.equal(trained.parentId, base.id, 'trained from the current state');
    assert.equal(trained.numImages, 5);
    const hand = await byHand(db, mesh.workers, classes, JSON.stringify({ steps: 3, stepMs: 1 }), baseBytes, 3);
    assert.deepEqual(decodeWeights(await exported(c, trained.id)), decodeWeights(hand.state));
    assert.ok((await exported(c, trained.id)).equals(hand.state), 'byte-exact');
    assert.deepEqual(trained.stats, hand.stats, 'the last round\'s shard statistics: images summed, the rest weighted by shard size');

    // While it ran: the current state moved only at the end, together with the last partial state becoming
    // the new version; at any time at most one round's average (partial), and shards only of the round after it.
    assert.ok(snapshots.length > 10, `${snapshots.length} samples`);
    const moved = snapshots.findIndex((s) => s.current !== base.id);
    assert.ok(moved > 0 && snapshots.slice(moved).every((s) => s.current === trained.id && s.partial.length === 0), 'current moved once, to the trained state');
    for (const s of snapshots) {
      const averages = s.partial.filter((p) => p.shard === null);
      assert.ok(averages.length <= 1, JSON.stringify(s));
      const next = (averages[0]?.round ?? 0) + 1;
      assert.ok(s.partial.every((p) => p.shard === null || p.round === next), JSON.stringify(s));
    }
    const seenAverages = new Set(snapshots.flatMap((s) => s.partial.filter((p) => p.shard === null).map((p) => p.round)));
    assert.ok(seenAverages.has(1) && seenAverages.has(2), `round averages seen: ${[...seenAverages]}`);
    assert.ok(snapshots.some((s) => s.partial.some((p) => p.shard !== null)), 'shard states seen');
    assert.equal(await partialCount(db), 0, 'nothing partial left');

    // Progress names the round and the part: rounds in order, and the bar ends full.
    const progress = all.filter((e) => e.message.startsWith('round '));
    const rounds = progress.map((e) => Number(/^round (\d)\/3/.exec(e.message)![1]));
    assert.deepEqual(rounds, [...rounds].sort(), 'rounds in order');
    assert.deepEqual([...new Set(rounds)], [1, 2, 3]);
    assert.ok(progress.some((e) => /^round \d\/3, shard [12]\/2, training [123]\/3$/.test(e.message)), progress.map((e) => e.message).join('\n'));
    assert.ok(progress.some((e) => /^round \d\/3, averaging, averaging [123]\/3$/.test(e.message)));
    // A round is 2 shards × 3 steps + 3 averaging steps: the bar spans 3 × 9, each round its ninth.
    for (const [i, e] of progress.entries()) {
      if (rounds[i]! > 1) assert.ok(e.total === 27 && e.done >= (rounds[i]! - 1) * 9 && e.done <= rounds[i]! * 9, `${e.message}: ${e.done}/${e.total}`);
    }
    assert.deepEqual([all.at(-1)!.done, all.at(-1)!.total], [27, 27]);
  });

  await t.test('a failure in round 2 leaves the last complete state current and no partial state', async () => {
    const before = (await c.listModelStates({ project: PROJECT })).states;
    const current = before.find((s) => s.current)!;
    // Round 1 trains from the current state's first weight; round 2 from more.
    await useOptions({ steps: 3, stepMs: 5, failFrom: decodeWeights(await exported(c, current.id))[0]! + 1 });
    const { job } = await c.startTraining({ project: PROJECT, numWorkers: 2, numEpochs: 3, imageIds: [], fromScratch: false });
    const events = await mesh.finish(PROJECT, job!.id);
    assert.equal(events.at(-1)!.state, JobState.JOB_STATE_FAILED);
    assert.match((await c.getJob({ project: PROJECT, id: job!.id })).job!.error, /failFrom/);
    assert.ok(events.some((e) => e.message.startsWith('round 2/3')), 'it failed in round 2');
    assert.deepEqual((await c.listModelStates({ project: PROJECT })).states, before, 'states and the current one unchanged');
    assert.equal(await partialCount(db), 0, 'round 1\'s average and any shard are gone');
  });

  await t.test('a controller restart mid-round resumes after the last stored round, to the same state as without one', async () => {
    await useOptions({ steps: 4, stepMs: 60 });
    const current = (await c.listModelStates({ project: PROJECT })).states.find((s) => s.current)!;
    const input = await exported(c, current.id);
    const from = fixtureCalls.length;
    const { job } = await c.startTraining({ project: PROJECT, numWorkers: 2, numEpochs: 3, imageIds: [], fromScratch: false });
    await waitUntil('round 1\'s averaged state', async () =>
      (await db.query('SELECT 1 FROM model_states WHERE partial AND job_id = $1 AND round = 1 AND shard IS NULL', [job!.id])).rows.length > 0);
    await mesh.restartRunner();
    const events = await mesh.finish(PROJECT, job!.id);
    assert.equal(events.at(-1)!.state, JobState.JOB_STATE_SUCCEEDED, events.at(-1)!.message);
    assert.equal((await c.getJob({ project: PROJECT, id: job!.id })).job!.attempts, 2, 'claimed again after the restart');
    const trained = (await c.listModelStates({ project: PROJECT })).states.find((s) => s.current)!;
    const hand = await byHand(db, mesh.workers, classes, JSON.stringify({ steps: 4, stepMs: 60 }), input, 3);
    assert.ok((await exported(c, trained.id)).equals(hand.state), 'the same state as three uninterrupted rounds');
    const roundOne = fixtureCalls.slice(from).filter((call) => call.method === 'train' && call.project === PROJECT && JSON.stringify(call.input) === JSON.stringify(decodeWeights(input)));
    // Two by the job (round 1, not trained again after the restart) and two by hand.
    assert.equal(roundOne.length, 4, 'round 1 was not trained again');
    assert.equal(await partialCount(db), 0);
  });

  await t.test('a state a running job reads cannot be deleted; partial states are not the API\'s', async () => {
    await useOptions({ steps: 100, stepMs: 20 });
    const states = (await c.listModelStates({ project: PROJECT })).states;
    const { job } = await c.startTraining({ project: PROJECT, numWorkers: 2, numEpochs: 2, imageIds: [], fromScratch: false });
    const partial = await waitUntil('a partial state', async () =>
      (await db.query<{ id: string }>('SELECT id FROM model_states WHERE partial AND job_id = $1', [job!.id])).rows[0]?.id);
    const base = states.find((s) => s.current)!;
    await assert.rejects(c.deleteModelState({ project: PROJECT, id: base.id }), (e: unknown) => isAideError(e, 'FAILED_PRECONDITION') && /in use by job/.test((e as Error).message));
    await assert.rejects(c.setCurrentModelState({ project: PROJECT, id: partial }), (e: unknown) => isAideError(e, 'FAILED_PRECONDITION'));
    await assert.rejects(c.deleteModelState({ project: PROJECT, id: partial }), (e: unknown) => isAideError(e, 'FAILED_PRECONDITION'));
    assert.deepEqual((await c.listModelStates({ project: PROJECT })).states.map((s) => s.id), states.map((s) => s.id), 'partial states are not listed');
    await c.cancelJob({ project: PROJECT, id: job!.id });
    assert.equal((await mesh.finish(PROJECT, job!.id)).at(-1)!.state, JobState.JOB_STATE_CANCELLED);
    await c.deleteModelState({ project: PROJECT, id: states[0]!.id });
    assert.equal(await partialCount(db), 0);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { MemoryBus, NatsBus, PublishQueue, type BusEvent, type EventBus } from '../../libs/bus/index.js';
import { AnnotationType, JobState, type ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import { watchJob } from '../../services/controller/api/job-watch.js';
import { appendJobEvents } from '../../services/controller/store/job-events.js';
import { createJob, updateJob } from '../../services/controller/store/jobs.js';
import { jobEventFromProto } from '../../services/controller/wire/job.js';
import type { Job } from '../../services/controller/domain.js';
import { controllerDb } from '../support/controller-db.js';
import { uniquePrefix } from '../support/nats.js';
import { ownNats } from '../support/own-nats.js';
import { controllerTargets, type ControllerClient } from './harness.js';

const noSettings = { modelLibrary: '', modelOptionsJson: '', rankerLibrary: '', rankerOptionsJson: '', autoTrain: undefined, ignoreUnlabeled: false, minAnnotationsPerImage: 0, maxTrainingImages: 0 };

async function collect(c: ControllerClient, project: string, id: string, onEvent?: (e: ProgressEvent) => void): Promise<ProgressEvent[]> {
  const out: ProgressEvent[] = [];
  for await (const { event } of c.watchJob({ project, id })) {
    out.push(event!);
    onEvent?.(event!);
  }
  return out;
}

for (const target of await controllerTargets()) {
  test(`WatchJob: the same ordered events for early and late watchers; finished jobs replay from the database (${target.name})`, { skip: target.skip }, async (t) => {
    const h = await target.start(t);
    if (!h) return;
    const pool = h.controller.database.pool;
    await h.peer.createProject({ name: 'w', displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_LABELS, predictionType: AnnotationType.ANNOTATION_TYPE_LABELS, settings: noSettings });
    const job = await createJob(pool, { project: 'w', kind: 'train', options: {} });
    const event = (seq: number, state = JobState.JOB_STATE_RUNNING): ProgressEvent => ({
      jobId: job.id, project: 'w', workerId: 'w1', state, modelState: 'PROGRESS', message: `step ${seq}`, done: seq, total: 10, time: new Date(), seq,
    });

    let first!: () => void;
    const gotFirst = new Promise<void>((resolve) => { first = resolve; });
    const early = collect(h.peer, 'w', job.id, () => first());
    await h.bus.publish(event(1));
    await gotFirst;
    for (let seq = 2; seq < 10; seq++) await h.bus.publish(event(seq));
    await h.bus.publish(event(10, JobState.JOB_STATE_SUCCEEDED));
    const late = await collect(h.peer, 'w', job.id);
    const earlySeen = await early;
    const expected = Array.from({ length: 10 }, (_, i) => i + 1);
    assert.deepEqual(earlySeen.map((e) => e.seq), expected);
    assert.deepEqual(late.map((e) => e.seq), expected);
    assert.deepEqual(late, earlySeen);
    assert.equal(late.at(-1)!.state, JobState.JOB_STATE_SUCCEEDED);

    // The orchestrator records the events and the outcome; a bus that lost them (restarted) is not waited on.
    await appendJobEvents(pool, job.id, earlySeen.map((e) => jobEventFromProto(e)!));
    const finished = await updateJob(pool, job.id, { state: 'succeeded', finishedAt: new Date() });
    const replayed = [];
    for await (const e of watchJob(pool, new MemoryBus(), finished, AbortSignal.timeout(5000))) replayed.push(e);
    assert.deepEqual(replayed.map((e) => [e.seq, e.state, e.message]), earlySeen.map((e) => [e.seq, e.state, e.message]));
    assert.deepEqual((await collect(h.peer, 'w', job.id)).map((e) => e.seq), expected);
  });
}

/** A bus whose n-th watch (from 0) is `watches[n]` (the last one repeats): a generator that may throw mid-way. */
function scriptedBus(watches: Array<() => AsyncGenerator<BusEvent>>): EventBus & { watchCalls: number } {
  const bus = {
    watchCalls: 0,
    publish: () => Promise.reject(new Error('not used')),
    watch: () => watches[Math.min(bus.watchCalls++, watches.length - 1)]!(),
    subscribe: () => { throw new Error('not used'); },
    close: async () => {},
  };
  return bus;
}

const fast = { pollMs: 20, quietMs: 50, busRetryMs: 50 };
const running = JobState.JOB_STATE_RUNNING;
const progressEvent = (jobId: string, seq: number, state = running): ProgressEvent => ({
  jobId, project: 'wb', workerId: 'controller', state, modelState: 'PROGRESS', message: `step ${seq}`, done: seq, total: 6, time: new Date(), seq,
});
const busDown = async function* (): AsyncGenerator<BusEvent> { throw new Error('TIMEOUT'); };

async function watched(db: pg.Pool, bus: EventBus, job: Job): Promise<ProgressEvent[]> {
  const out: ProgressEvent[] = [];
  for await (const e of watchJob(db, bus, job, AbortSignal.timeout(15_000), fast)) out.push(e);
  return out;
}

test('WatchJob: when the bus fails mid-job the watch goes on from the event log and ends with the terminal event, not an error', async (t) => {
  const db = await controllerDb(t, 'wb');
  if (!db) return;
  const job = await updateJob(db, (await createJob(db, { project: 'wb', kind: 'train', options: {} })).id, { state: 'running' });
  const bus = scriptedBus([
    async function* () {
      yield { event: progressEvent(job.id, 1), headers: {} };
      throw new Error('consumer not found');
    },
    busDown,
  ]);
  const watching = watched(db, bus, job);
  // The controller goes on writing its log while the bus is down.
  for (let seq = 1; seq <= 5; seq++) {
    await appendJobEvents(db, job.id, [jobEventFromProto(progressEvent(job.id, seq))!]);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  await updateJob(db, job.id, { state: 'succeeded', finishedAt: new Date() });
  await appendJobEvents(db, job.id, [jobEventFromProto(progressEvent(job.id, 6, JobState.JOB_STATE_SUCCEEDED))!]);
  const seen = await watching;
  assert.deepEqual(seen.map((e) => e.seq), [1, 2, 3, 4, 5, 6], 'every event once, in order');
  assert.equal(seen.at(-1)!.state, JobState.JOB_STATE_SUCCEEDED);
  assert.ok(bus.watchCalls >= 2, 'the bus was tried again');
});

test('WatchJob: once the bus is back the watch follows it again, skipping what it already sent', async (t) => {
  const db = await controllerDb(t, 'wb');
  if (!db) return;
  const job = await updateJob(db, (await createJob(db, { project: 'wb', kind: 'train', options: {} })).id, { state: 'running' });
  await appendJobEvents(db, job.id, [1, 2].map((seq) => jobEventFromProto(progressEvent(job.id, seq))!));
  let sentFromLog!: () => void;
  const logRead = new Promise<void>((resolve) => { sentFromLog = resolve; });
  const bus = scriptedBus([
    busDown,
    async function* () {
      await logRead;
      // The stream's backlog first (already sent from the log), then what is new; the log never gets 3..6.
      for (let seq = 1; seq <= 5; seq++) yield { event: progressEvent(job.id, seq), headers: {} };
      yield { event: progressEvent(job.id, 6, JobState.JOB_STATE_SUCCEEDED), headers: {} };
    },
  ]);
  const seen: ProgressEvent[] = [];
  for await (const e of watchJob(db, bus, job, AbortSignal.timeout(15_000), fast)) {
    seen.push(e);
    if (e.seq === 2) sentFromLog();
  }
  assert.deepEqual(seen.map((e) => e.seq), [1, 2, 3, 4, 5, 6]);
  assert.equal(seen.at(-1)!.state, JobState.JOB_STATE_SUCCEEDED, 'the terminal event came from the bus');
});

test('WatchJob on a real NATS killed mid-job: the log carries the watch, the bus takes over again when NATS is back', async (t) => {
  const db = await controllerDb(t, 'wb');
  if (!db) return;
  const nats = await ownNats(t);
  const bus = await NatsBus.connect({ natsUrl: nats.url, subjectPrefix: uniquePrefix(), connection: { reconnectTimeWait: 100 } });
  const stop = new AbortController();
  try {
    const job = await updateJob(db, (await createJob(db, { project: 'wb', kind: 'train', options: {} })).id, { state: 'running' });
    const logged = (seq: number) => appendJobEvents(db, job.id, [jobEventFromProto(progressEvent(job.id, seq))!]);
    const seen: ProgressEvent[] = [];
    const arrivals = new Map<number, () => void>();
    const got = (seq: number): Promise<void> => new Promise((resolve) => { if (seen.some((e) => e.seq === seq)) resolve(); else arrivals.set(seq, resolve); });
    const watching = (async () => {
      for await (const e of watchJob(db, bus, job, stop.signal, fast)) {
        seen.push(e);
        arrivals.get(e.seq)?.();
      }
    })();
    await logged(1);
    await bus.publish(progressEvent(job.id, 1));
    await got(1);
    await nats.kill();
    for (const seq of [2, 3]) await logged(seq);
    await got(3);
    await nats.start();
    // Only on the bus now: these can reach the watcher only by the bus (through a queue, as the controller publishes:
    // the first publishes after the restart may time out).
    const queue = new PublishQueue(bus, { minRetryMs: 50, maxRetryMs: 500 });
    queue.publish(progressEvent(job.id, 4));
    queue.publish(progressEvent(job.id, 5, JobState.JOB_STATE_SUCCEEDED));
    await watching;
    assert.deepEqual(seen.map((e) => e.seq), [1, 2, 3, 4, 5]);
    assert.equal(seen.at(-1)!.state, JobState.JOB_STATE_SUCCEEDED);
  } finally {
    stop.abort();
    await bus.close();
  }
});

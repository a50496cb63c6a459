/**
 * Progress publishing never waits on the bus: a bus that hangs or fails holds
 * nothing up, the queue stays bounded without losing terminal events, and what
 * was queued reaches the bus when it is back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dropSuperseded, PublishQueue, type EventBus } from '../../libs/bus/index.js';
import { JobState, type ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import { progressReporter } from '../../libs/progress/reporter.js';

/** A bus whose publish hangs (`mode: 'hang'`), rejects (`'down'`) or stores (`'up'`). */
function flakyBus(mode: 'hang' | 'down' | 'up') {
  const published: ProgressEvent[] = [];
  let attempts = 0;
  const bus = {
    mode,
    published,
    get attempts() { return attempts; },
    publish(event: ProgressEvent): Promise<void> {
      attempts++;
      if (bus.mode === 'hang') return new Promise(() => {});
      if (bus.mode === 'down') return Promise.reject(new Error('TIMEOUT'));
      published.push(event);
      return Promise.resolve();
    },
    watch: () => { throw new Error('not used'); },
    subscribe: () => { throw new Error('not used'); },
    close: async () => {},
  };
  return bus as typeof bus & EventBus;
}

/** A reporter without throttling whose events go into `queue`, as a worker's job does. */
const reporterInto = (queue: PublishQueue, jobId: string) =>
  progressReporter({ jobId, project: 'p', workerId: 'w', emit: (e) => queue.publish(e), maxPerSecond: 1e9 });

test('a bus whose publish never returns does not hold up the reporting work, and the queue stays bounded', () => {
  const bus = flakyBus('hang');
  const queue = new PublishQueue(bus, { maxPerJob: 8 });
  const r = reporterInto(queue, 'j1');
  r.report(JobState.JOB_STATE_RUNNING, 'started');
  for (let i = 1; i <= 1000; i++) r.updateState('PROGRESS', `batch ${i}`, i, 1000);
  r.report(JobState.JOB_STATE_SUCCEEDED, 'done');
  // All of the above ran synchronously although not one publish completed.
  assert.equal(bus.attempts, 1, 'one publish in flight, the rest queued');
  assert.ok(queue.pending <= 8, `bounded: ${queue.pending} events held`);
});

test('events queued while the bus fails are published, in order, when it is back; superseded progress is coalesced', async () => {
  const bus = flakyBus('down');
  const queue = new PublishQueue(bus, { minRetryMs: 5, maxRetryMs: 20 });
  const r = reporterInto(queue, 'j1');
  r.report(JobState.JOB_STATE_RUNNING, 'started');
  for (let i = 1; i <= 1000; i++) r.updateState('PROGRESS', `batch ${i}`, i, 1000);
  r.report(JobState.JOB_STATE_SUCCEEDED, 'done');
  assert.equal(await queue.drained(100), false, 'nothing gets through while the bus fails');
  assert.equal(bus.published.length, 0);
  bus.mode = 'up';
  assert.equal(await queue.drained(5000), true, 'everything reaches the bus once it is back');
  const seqs = bus.published.map((e) => e.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in sequence order');
  assert.equal(new Set(seqs).size, seqs.length, 'no duplicates');
  const last = bus.published.at(-1)!;
  assert.equal(last.state, JobState.JOB_STATE_SUCCEEDED, 'the terminal event arrives, last');
  assert.equal(last.done, 1000);
  assert.ok(bus.published.some((e) => e.state === JobState.JOB_STATE_RUNNING && e.done === 1000), 'the latest progress is kept');
  assert.ok(bus.published.length < 40, `superseded progress was coalesced (${bus.published.length} published)`);
});

test('the queue stays bounded over many jobs and keeps every terminal event', async () => {
  const bus = flakyBus('down');
  const queue = new PublishQueue(bus, { maxPerJob: 4, minRetryMs: 5, maxRetryMs: 20 });
  for (let j = 0; j < 50; j++) {
    const r = reporterInto(queue, `job${j}`);
    r.report(JobState.JOB_STATE_RUNNING, 'started');
    for (let i = 1; i <= 200; i++) r.updateState('PROGRESS', `step ${i}`, i, 200);
    r.report(j % 2 === 0 ? JobState.JOB_STATE_SUCCEEDED : JobState.JOB_STATE_FAILED, 'end');
  }
  assert.ok(queue.pending <= 50 * 4, `at most 4 events a job held, ${queue.pending} in all`);
  bus.mode = 'up';
  assert.equal(await queue.drained(5000), true);
  for (let j = 0; j < 50; j++) {
    const mine = bus.published.filter((e) => e.jobId === `job${j}`);
    assert.equal(mine.at(-1)!.state, j % 2 === 0 ? JobState.JOB_STATE_SUCCEEDED : JobState.JOB_STATE_FAILED, `job${j} ends with its terminal event`);
  }
});

test('dropSuperseded keeps state changes, terminal events and the latest event', () => {
  const e = (seq: number, state: JobState) => ({ seq, state });
  const R = JobState.JOB_STATE_RUNNING;
  const Q = JobState.JOB_STATE_QUEUED;
  const events = [e(1, Q), e(2, Q), e(3, R), e(4, R), e(5, R), e(6, JobState.JOB_STATE_FAILED)];
  assert.equal(dropSuperseded(events, 1, (x) => x), 3);
  assert.deepEqual(events.map((x) => x.seq), [2, 5, 6]);
});

test('close() stops retrying after its deadline and says how many events were left out', async () => {
  const bus = flakyBus('down');
  const queue = new PublishQueue(bus, { minRetryMs: 5, maxRetryMs: 5 });
  reporterInto(queue, 'j1').report(JobState.JOB_STATE_FAILED, 'boom');
  assert.equal(await queue.close(50), 1);
  const tries = bus.attempts;
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(bus.attempts, tries, 'no retries after close');
});

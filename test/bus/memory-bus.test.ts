/** The in-process bus's bounds (the shared contract is in bus.test.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobState, ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import { MemoryBus, type BusEvent } from '../../libs/bus/index.js';

const ev = (jobId: string, seq: number, state = JobState.JOB_STATE_RUNNING): ProgressEvent =>
  ProgressEvent.fromPartial({ project: 'p', jobId, seq, state });

async function drain(it: AsyncIterable<BusEvent>): Promise<number[]> {
  const out: number[] = [];
  for await (const e of it) out.push(e.event.seq);
  return out;
}

test('keeps only the last maxEventsPerJob events of a job', async () => {
  const bus = new MemoryBus({ maxEventsPerJob: 5 });
  for (let i = 1; i <= 9; i++) await bus.publish(ev('j', i));
  await bus.publish(ev('j', 10, JobState.JOB_STATE_SUCCEEDED));
  assert.deepEqual(await drain(bus.watch('p', 'j')), [6, 7, 8, 9, 10]);
  await bus.close();
});

test('drops ended jobs after the TTL and beyond maxEndedJobs; running jobs stay', async () => {
  let now = 0;
  const bus = new MemoryBus({ endedJobTtlMs: 1000, maxEndedJobs: 2, now: () => now });
  await bus.publish(ev('running', 1));
  for (const id of ['a', 'b', 'c']) await bus.publish(ev(id, 1, JobState.JOB_STATE_FAILED));
  assert.equal(bus.jobCount, 3, 'a dropped: more than 2 ended');
  now = 5000;
  await bus.publish(ev('running', 2));
  assert.equal(bus.jobCount, 1, 'b and c dropped after the TTL');
  const ac = new AbortController(); // (AbortSignal.timeout does not keep the event loop alive)
  setTimeout(() => ac.abort(), 30);
  assert.deepEqual(await drain(bus.watch('p', 'a', { signal: ac.signal })), []);
  await bus.close();
});

test('caps the number of jobs (least recently updated dropped)', async () => {
  const bus = new MemoryBus({ maxJobs: 2 });
  await bus.publish(ev('x', 1));
  await bus.publish(ev('y', 1));
  await bus.publish(ev('x', 2));
  await bus.publish(ev('z', 1));
  assert.equal(bus.jobCount, 2);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 30);
  assert.deepEqual(await drain(bus.watch('p', 'x', { signal: ac.signal })), [1, 2]);
  await bus.close();
});

test('a stored event is a copy: mutating the published object changes nothing', async () => {
  const bus = new MemoryBus();
  const e = ev('j', 1, JobState.JOB_STATE_SUCCEEDED);
  const headers = { a: '1' };
  await bus.publish(e, { headers });
  e.message = 'changed';
  headers.a = '2';
  const [got] = await (async () => { const out: BusEvent[] = []; for await (const x of bus.watch('p', 'j')) out.push(x); return out; })();
  assert.equal(got!.event.message, '');
  assert.deepEqual(got!.headers, { a: '1' });
  assert.equal(bus.listenerCount, 0);
  await bus.close();
});

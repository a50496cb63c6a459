/**
 * NATS killed mid-job: the job's reporting goes on at once, and its events
 * reach the stream, in order and ending with the terminal event, when NATS is
 * back. On a NATS server of the test's own.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NatsBus, PublishQueue, type BusEvent } from '../../libs/bus/index.js';
import { JobState } from '../../libs/gen/aide/v1/common.js';
import { progressReporter } from '../../libs/progress/reporter.js';
import { uniquePrefix } from '../support/nats.js';
import { ownNats, type OwnNats } from '../support/own-nats.js';

test('events reported while NATS is down are published when it is back; reporting never waited', async (t) => {
  const nats = await ownNats(t);
  const bus = await NatsBus.connect({ natsUrl: nats.url, subjectPrefix: uniquePrefix(), connection: { reconnectTimeWait: 100 } });
  try {
    await outage(nats, bus);
  } finally {
    await bus.close(); // while the server is up: closing against a dead one waits for it
  }
});

async function outage(nats: OwnNats, bus: NatsBus): Promise<void> {
  const queue = new PublishQueue(bus, { minRetryMs: 50, maxRetryMs: 500 });
  const r = progressReporter({ jobId: 'j1', project: 'p', workerId: 'w', emit: (e) => queue.publish(e), maxPerSecond: 1e9 });
  r.report(JobState.JOB_STATE_RUNNING, 'started');
  assert.equal(await queue.drained(5000), true, 'published while NATS is up');

  await nats.kill();
  for (let i = 1; i <= 1000; i++) r.updateState('PROGRESS', `batch ${i}`, i, 1000);
  r.report(JobState.JOB_STATE_SUCCEEDED, 'done');
  // The 1000 reports and the terminal one returned without one publish acknowledged.
  assert.ok(queue.pending > 0, 'the events wait in the queue');

  await nats.start();
  assert.equal(await queue.drained(30_000), true, 'the queue drains once NATS is back');
  const seen: BusEvent[] = [];
  for await (const e of bus.watch('p', 'j1', { signal: AbortSignal.timeout(10_000) })) seen.push(e);
  const seqs = seen.map((e) => e.event.seq);
  assert.equal(seqs[0], 1);
  assert.deepEqual(seqs, [...new Set(seqs)].sort((a, b) => a - b), 'in order, no duplicates');
  assert.equal(seen.at(-1)!.event.state, JobState.JOB_STATE_SUCCEEDED, 'the stream ends with the terminal event');
  assert.equal(seen.at(-1)!.event.done, 1000);
}

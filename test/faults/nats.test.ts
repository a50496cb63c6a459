/**
 * NATS killed mid-training (the mesh's own nats-server; the shared one is
 * never touched): progress reporting must not hold the work up — the job
 * takes about as long as the same job with NATS up — and a WatchJob watcher
 * open across the outage ends with the job's terminal event, not an error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isTerminalState } from '../../libs/bus/bus.js';
import { JobState, type Job } from '../../libs/gen/aide/v1/common.js';
import { lastState, meshUnavailable, startMesh, startTraining } from './mesh-processes.js';

const skip = await meshUnavailable();

/** How long the job ran, by the controller's own clock (created → finished). */
const runMs = (job: Job): number => job.finishedAt!.getTime() - job.createdAt!.getTime();

test('NATS killed mid-training: the job is not slowed, a watcher across the outage sees it end (mTLS)', { skip, timeout: 180_000 }, async (t) => {
  const mesh = await startMesh(t, { tls: true, ranker: false, workers: 1, ownNats: true });
  const { name } = await mesh.fixtureProject('nats', { images: 12, labelled: 12, steps: 30, stepMs: 100 });
  const train = () => startTraining(mesh.api, name, 1);

  const baselineId = await train();
  const baseline = lastState(await mesh.finish(name, baselineId));
  assert.equal(baseline.state, JobState.JOB_STATE_SUCCEEDED, baseline.message);
  const baselineMs = runMs(await mesh.job(name, baselineId));

  const id = await train();
  const watched = mesh.watch(name, id);
  await mesh.waitForJob(name, id, 'the training under way', (j) => j.state === JobState.JOB_STATE_RUNNING && Number(j.done) > 0, 30_000);
  await mesh.nats!.kill();
  // NATS stays down until the job ends (read from Postgres), or until well past the allowed time if the job is held up.
  const ended = await mesh.waitForJob(name, id, 'the job to end with NATS down', (j) => isTerminalState(j.state), 2 * baselineMs + 5000).catch(() => undefined);
  await mesh.nats!.start();
  const job = ended ?? await mesh.waitForJob(name, id, 'the job to end', (j) => isTerminalState(j.state), 30_000);
  assert.equal(job.state, JobState.JOB_STATE_SUCCEEDED, job.message);
  const faultedMs = runMs(job);
  // The watcher's last event's state, or what went wrong instead.
  const watcher = await Promise.race([
    watched.done.then((events) => JobState[lastState(events).state], (err: Error) => `failed: ${err.message}`),
    new Promise<string>((resolve) => setTimeout(() => resolve(`no end; events: ${JSON.stringify(watched.events.map((e) => e.message))}`), 20_000)),
  ]);
  // Both judged before either fails the test.
  assert.deepEqual({ slowedDown: faultedMs > 1.5 * baselineMs, watcher }, { slowedDown: false, watcher: 'JOB_STATE_SUCCEEDED' },
    `the job took ${faultedMs} ms with NATS killed, ${baselineMs} ms with it up`);
});

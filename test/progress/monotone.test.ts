/**
 * A job's bar never goes back: not at a model's phase change, not when a shard
 * is retried from the start, not across a workflow's steps.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobState, type ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import { createLogger } from '../../libs/log.js';
import { progressReporter } from '../../libs/progress/reporter.js';
import type { Orchestra } from '../../services/controller/orchestration/context.js';
import { executeWorkflow, type Executor } from '../../services/controller/orchestration/execute-workflow.js';
import { jobProgress, partsProgress } from '../../services/controller/orchestration/job-progress.js';
import { appendJobEvents, jobEvents } from '../../services/controller/store/job-events.js';
import { jobEventFromProto } from '../../services/controller/wire/job.js';
import { inTransaction } from '../../services/controller/store/db.js';
import { createJob } from '../../services/controller/store/jobs.js';
import { getProject } from '../../services/controller/store/projects.js';
import { controllerDb } from '../support/controller-db.js';

/** Every event's fraction is at least the one before. */
function assertMonotone(events: Array<Pick<ProgressEvent, 'done' | 'total'>>): void {
  const fractions = events.filter((e) => e.total > 0).map((e) => e.done / e.total);
  for (let i = 1; i < fractions.length; i++) {
    assert.ok(fractions[i]! >= fractions[i - 1]!, `the bar went back at report ${i}: ${fractions[i - 1]} → ${fractions[i]} (${JSON.stringify(events.map((e) => [e.done, e.total]))})`);
  }
}

const unthrottled = (seen: ProgressEvent[]) =>
  progressReporter({ jobId: 'j', project: 'p', workerId: 'w', emit: (e) => seen.push(e), maxPerSecond: 1e9 });

test('a model\'s next phase (loading 30/30, then batch 1/30) does not send the bar back', () => {
  const seen: ProgressEvent[] = [];
  const r = unthrottled(seen);
  r.report(JobState.JOB_STATE_RUNNING, 'started');
  for (let i = 1; i <= 30; i++) r.updateState('PROGRESS', 'loading images', i, 30);
  for (let i = 1; i <= 30; i++) r.updateState('PROGRESS', 'training', i, 30);
  r.report(JobState.JOB_STATE_SUCCEEDED, 'done');
  assertMonotone(seen);
  assert.deepEqual([seen.at(-1)!.done, seen.at(-1)!.total], [30, 30]);
  assert.equal(seen.filter((e) => e.message === 'training').length, 30, 'every report still goes out, with its message');
});

test('a shard retried from the start does not send the summed bar back', () => {
  const seen: ProgressEvent[] = [];
  const r = unthrottled(seen);
  const raw: Array<{ done: number; total: number }> = [];
  const report = partsProgress((done, total, message) => {
    raw.push({ done, total });
    r.updateState('PROGRESS', message, done, total);
  });
  const running = JobState.JOB_STATE_RUNNING;
  report(1, 'shard 2/2', { done: 0, total: 300, message: 'training', state: running });
  for (let i = 0; i <= 249; i += 3) report(0, 'shard 1/2', { done: i, total: 300, message: 'training', state: running });
  report(1, 'shard 2/2', { done: 100, total: 300, message: 'training', state: running });
  const beforeRetry = raw.at(-1)!;
  // Shard 1's worker died; another starts it over.
  for (let i = 0; i <= 300; i += 3) report(0, 'shard 1/2', { done: i, total: 300, message: 'training (retry)', state: running });
  report(1, 'shard 2/2', { done: 300, total: 300, message: 'training', state: running });
  assertMonotone(raw);
  assertMonotone(seen);
  assert.ok(raw.some((p) => p.done > beforeRetry.done && p.done < 600), 'the retry moves the bar on once it passes where the shard was');
  assert.deepEqual(raw.at(-1), { done: 600, total: 600 });
});

test('a workflow reports one bar over its steps, whatever its children count', async (t) => {
  const db = await controllerDb(t, 'wf');
  if (!db) return;
  const job = await createJob(db, { project: 'wf', kind: 'workflow', options: {} });
  // Children counting different things: 10 images then 5 batches; 3 images; 2 waits and 2 images.
  const counting = (...phases: number[]): Executor => async (_orchestra, run) => {
    for (const n of phases) for (let i = 1; i <= n; i++) run.progress.updateState('PROGRESS', `${i}/${n}`, i, n);
    run.progress.updateState('WAITING', 'waiting for a worker');
    await inTransaction(db, (client) => run.succeed(client, 'ok'));
  };
  const seen: ProgressEvent[] = [];
  const progress = unthrottled(seen);
  // The workflow executor uses only the database of the orchestra.
  const orchestra = { db } as unknown as Orchestra;
  await executeWorkflow(orchestra, {
    job, project: await getProject(db, 'wf'), signal: new AbortController().signal, progress, succeed: async () => {},
  }, { train: counting(10, 5), inference: counting(3), rank: counting(2, 2) });
  assertMonotone(seen);
  assert.equal(new Set(seen.map((e) => e.total)).size, 1, `one total throughout: ${[...new Set(seen.map((e) => e.total))]}`);
  const last = seen.at(-1)!;
  assert.equal(last.done, last.total, 'the last step\'s end fills the bar');
  assert.ok(seen.some((e) => e.done > 0 && e.done < last.total / 3), 'the first step moves the bar within its share');
});

test('a job resumed after a controller restart goes on from its bar, in sequence after its events', async (t) => {
  const db = await controllerDb(t, 'wf');
  if (!db) return;
  const job = await createJob(db, { project: 'wf', kind: 'train', options: {} });
  const before = { jobId: job.id, project: 'wf', workerId: 'controller', state: JobState.JOB_STATE_RUNNING, modelState: 'PROGRESS', message: 'round 2/4', done: 50, total: 100, time: new Date(), seq: 7 };
  await appendJobEvents(db, job.id, [jobEventFromProto(before)!]);
  const published: ProgressEvent[] = [];
  const progress = await jobProgress({ db, publisher: { publish: (e) => published.push(e) }, logger: createLogger('test', 'silent'), jobId: job.id, project: 'wf' });
  progress.report(JobState.JOB_STATE_RUNNING, 'resumed (attempt 2)');
  progress.updateState('PROGRESS', 'round 2/4, shard 1/2, training', 2, 100);
  progress.flush();
  await progress.flushed();
  assert.deepEqual(published.map((e) => [e.seq, e.done, e.total]), [[8, 50, 100], [9, 50, 100]]);
  assert.deepEqual((await jobEvents(db, job.id)).map((e) => [e.seq, e.done]), [[7, 50], [8, 50], [9, 50]], 'the log has them, in one sequence');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobState, type ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import { progressReporter } from '../../libs/progress/reporter.js';

test('the progress throttle keeps the latest report, flush() lets a held-back one out at a phase boundary', () => {
  const seen: ProgressEvent[] = [];
  const r = progressReporter({ jobId: 'j', project: 'p', workerId: 'w', emit: (e) => seen.push(e), maxPerSecond: 1 });
  r.report(JobState.JOB_STATE_RUNNING, 'started');
  r.updateState('PROGRESS', 'averaging 1/3', 1, 3);
  r.updateState('PROGRESS', 'averaging 2/3', 2, 3);
  assert.deepEqual(seen.map((e) => e.message), ['started'], 'within the interval the reports wait');
  r.flush();
  assert.deepEqual(seen.map((e) => [e.message, e.done, e.total, e.seq]), [['started', 0, 0, 1], ['averaging 2/3', 2, 3, 2]], 'the latest one, in sequence');
  r.flush();
  assert.equal(seen.length, 2, 'nothing pending, nothing emitted');
  r.updateState('PROGRESS', 'shard 1/2, training 1/3', 1, 9);
  r.report(JobState.JOB_STATE_FAILED, 'boom');
  assert.deepEqual(seen.slice(2).map((e) => [e.message, e.state, e.done, e.total]), [
    ['shard 1/2, training 1/3', JobState.JOB_STATE_RUNNING, 6, 9],
    ['boom', JobState.JOB_STATE_FAILED, 6, 9],
  ], 'a job state comes after the report held back, at once (the bar held at 2/3: it never goes back)');
  r.updateState('PROGRESS', 'still training', 2, 9);
  r.report(JobState.JOB_STATE_CANCELLED, 'late');
  r.flush();
  assert.equal(seen.length, 4, 'nothing after the terminal event');
});

test('success fills the bar', () => {
  const seen: ProgressEvent[] = [];
  const r = progressReporter({ jobId: 'j', project: 'p', workerId: 'w', emit: (e) => seen.push(e), maxPerSecond: 1 });
  r.report(JobState.JOB_STATE_RUNNING, 'started');
  r.updateState('PROGRESS', 'training 7/9', 7, 9);
  r.report(JobState.JOB_STATE_SUCCEEDED, 'done');
  assert.deepEqual(seen.map((e) => [e.message, e.done, e.total, e.seq]), [['started', 0, 0, 1], ['training 7/9', 7, 9, 2], ['done', 9, 9, 3]]);
});

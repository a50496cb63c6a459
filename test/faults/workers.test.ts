/**
 * Worker faults with 2 worker processes and the test fixture model (slowed:
 * each train, average and inference call takes ~1 s in steps): progress that
 * never goes back, a worker killed while averaging, then the other one
 * drained (SIGTERM) while it trains a shard — the last worker, so the shard
 * has nowhere to move and the job succeeds only if the drain finishes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobKind, JobState, type ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import { lastState, meshUnavailable, startMesh, startTraining, startWorkflow, workerId } from './mesh-processes.js';

const skip = await meshUnavailable();

/** Events whose done/total went back from the one before (among those with a total). */
function regressions(events: ProgressEvent[]): string[] {
  const out: string[] = [];
  let last = 0;
  for (const e of events) {
    if (Number(e.total) === 0) continue;
    const fraction = Number(e.done) / Number(e.total);
    if (fraction < last) out.push(`seq ${e.seq} "${e.message}": ${e.done}/${e.total} after ${last.toFixed(3)}`);
    last = Math.max(last, fraction);
  }
  return out;
}

test('worker faults (mTLS, 2 workers, the fixture model)', { skip, timeout: 180_000 }, async (t) => {
  // Long enough for a SIGTERMed worker to finish its call.
  const mesh = await startMesh(t, { tls: true, workers: 2, env: { AIDE_AIWORKER_DRAIN_DEADLINE_S: '30' } });
  const { name } = await mesh.fixtureProject('workers', { images: 24, labelled: 16, steps: 10, stepMs: 100 });
  const fromWorkers = await mesh.workerEvents(name);
  const versions = async () => (await mesh.api.listModelStates({ project: name })).states.map((s) => s.version).sort((a, b) => a - b);

  await t.test('progress done/total never decreases: a 2-worker, 2-round training and a workflow', async () => {
    const trainEvents = await mesh.finish(name, await startTraining(mesh.api, name, 2, 2));
    assert.equal(lastState(trainEvents).state, JobState.JOB_STATE_SUCCEEDED, lastState(trainEvents).message);

    const workflow = await startWorkflow(mesh.api, name);
    assert.equal(workflow.kind, JobKind.JOB_KIND_WORKFLOW);
    const workflowEvents = await mesh.finish(name, workflow.id);
    assert.equal(lastState(workflowEvents).state, JobState.JOB_STATE_SUCCEEDED, lastState(workflowEvents).message);
    // Both judged before either fails the test, so a failure names every job that went back.
    assert.deepEqual({ training: regressions(trainEvents), workflow: regressions(workflowEvents) }, { training: [], workflow: [] }, 'progress went back');
  });

  await t.test('kill -9 of the worker that is averaging: the averaging moves and the job succeeds', async () => {
    const before = await versions();
    const id = await startTraining(mesh.api, name, 2);
    const watched = mesh.watch(name, id);
    const isAveraging = (e: ProgressEvent) => e.jobId.startsWith(id) && e.message.includes('averaging');
    const averaging = await mesh.waitForJob(name, id, 'the averaging under way', () => fromWorkers.some(isAveraging), 30_000);
    assert.equal(averaging.state, JobState.JOB_STATE_RUNNING);
    const averager = fromWorkers.find(isAveraging)!.workerId;
    const victim = mesh.workers.find((_, i) => workerId(i) === averager);
    assert.ok(victim, `the averaging ran on ${averager}, not one of the mesh's workers`);
    assert.equal(await victim.kill('SIGKILL'), null);
    const end = lastState(await watched.done);
    assert.equal(end.state, JobState.JOB_STATE_SUCCEEDED, end.message);
    assert.deepEqual(await versions(), [...before, before.length + 1], 'one new state');
    const survivors = new Set(fromWorkers.filter((e) => isAveraging(e) && e.workerId !== averager).map((e) => e.workerId));
    assert.equal(survivors.size, 1, 'the other worker averaged');
  });

  await t.test('SIGTERM to the worker training the only shard: it finishes the shard (drains), the shard is not retried', async () => {
    const id = await startTraining(mesh.api, name, 1);
    const watched = mesh.watch(name, id, 30_000);
    const isTraining = (e: ProgressEvent) => e.jobId.startsWith(id) && e.message.includes('training');
    await mesh.waitForJob(name, id, 'the shard under way on a worker', () => fromWorkers.some(isTraining), 30_000);
    const trainer = fromWorkers.find(isTraining)!.workerId;
    const victim = mesh.workers.find((_, i) => workerId(i) === trainer);
    assert.ok(victim, `the shard ran on ${trainer}, not one of the mesh's workers`);
    const exited = victim.kill('SIGTERM');
    const end = lastState(await watched.done);
    assert.equal(end.state, JobState.JOB_STATE_SUCCEEDED, end.message);
    assert.deepEqual([...new Set(fromWorkers.filter((e) => e.jobId.startsWith(id)).map((e) => e.workerId))], [trainer], 'only the drained worker ran the shard');
    assert.equal((await mesh.job(name, id)).attempts, 1);
    assert.equal(await exited, 0, 'the drained worker exited cleanly');
  });
});

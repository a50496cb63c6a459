import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBus } from '../../libs/bus/index.js';
import { AnnotationType, JobState, type ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import { watchJob } from '../../services/controller/api/job-watch.js';
import { appendJobEvents } from '../../services/controller/store/job-events.js';
import { createJob, updateJob } from '../../services/controller/store/jobs.js';
import { jobEventFromProto } from '../../services/controller/wire/job.js';
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

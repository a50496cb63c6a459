/**
 * Image reads under faults, with the built-in classifier on 2 worker
 * processes under mTLS (first without a fault: the end-to-end run that
 * test/faults/plaintext.test.ts makes in plaintext): unreadable files are reported by count and name (never silently
 * left without predictions), and a FileServer killed mid-inference never
 * yields a SUCCEEDED job with fewer predictions than images — when the job
 * fails instead, the state's earlier predictions are all still there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { isTerminalState } from '../../libs/bus/bus.js';
import { JobState, type Job, type ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import { lastState, listImageIds, meshUnavailable, predictionIds, startInference, startMesh, trainThenPredictAll } from './mesh-processes.js';

const skip = await meshUnavailable();

const IMAGES = 160;
const LABELLED = 60;

/** A noisy 48×48 PNG cut off in the middle of its pixel data. */
async function truncatedPng(): Promise<Buffer> {
  const png = await sharp(randomBytes(48 * 48 * 3), { raw: { width: 48, height: 48, channels: 3 } }).png().toBuffer();
  return png.subarray(0, Math.floor(png.length * 0.6));
}

/** What the job tells its watchers in words: its message and error, and every event's message. */
const reportedText = (job: Job, events: ProgressEvent[]): string[] => [job.message, job.error, ...events.map((e) => e.message)];

test('image faults across worker and FileServer processes (mTLS)', { skip, timeout: 180_000 }, async (t) => {
  const mesh = await startMesh(t, { tls: true, ranker: false, workers: 2 });
  const project = await mesh.labelsProject('images', { images: IMAGES, labelled: LABELLED });
  const name = project.name;
  const fromWorkers = await mesh.workerEvents(name);

  await t.test('mTLS end to end: trained on 2 workers, a prediction for every unlabelled image', () => trainThenPredictAll(mesh, project, 2));

  const bad = ['img/zz-random-bytes.png', 'img/zz-truncated.png'];
  const files = mesh.files(name);
  await files.putFile(bad[0]!, randomBytes(300));
  await files.putFile(bad[1]!, await truncatedPng());
  assert.equal((await mesh.api.registerImages({ project: name, prefix: 'img' })).added, 2);
  const ids = await listImageIds(mesh.api, name);
  const unlabelled = [...ids.entries()].filter(([path]) => bad.includes(path) || Number(path.slice(4, 8)) >= LABELLED);
  const readable = unlabelled.filter(([path]) => !bad.includes(path)).map(([, id]) => id).sort();

  await t.test('unreadable images (random bytes, a truncated PNG) are reported by count and name; the others predicted', async () => {
    const id = await startInference(mesh.api, name, 2);
    const events = await mesh.finish(name, id);
    const end = lastState(events);
    assert.equal(end.state, JobState.JOB_STATE_SUCCEEDED, end.message);
    const predicted = await predictionIds(mesh.api, name);
    assert.deepEqual(readable.filter((id) => !predicted.has(id)), [], 'a prediction for each readable image');
    assert.equal(predicted.size, readable.length, 'none for the unreadable ones');

    const final = await mesh.job(name, id);
    const report = reportedText(final, events).find((text) => bad.every((path) => text.includes(path)));
    assert.ok(report, `a message names both unreadable files; the job said: ${JSON.stringify({ message: final.message, error: final.error, events: events.map((e) => e.message) })}`);
    assert.match(report, /\b2\b/, `the report counts them: ${report}`);
  });

  await t.test('kill -9 of the FileServer mid-inference: SUCCEEDED only with every prediction; FAILED keeps the old ones intact', async () => {
    const before = await predictionIds(mesh.api, name);
    assert.equal(before.size, readable.length);
    const id = await startInference(mesh.api, name, 2, readable);
    const watched = mesh.watch(name, id);
    // The first event from a worker: the model is reading images.
    await mesh.waitForJob(name, id, 'the inference under way on a worker',
      (j) => isTerminalState(j.state) || fromWorkers.some((e) => e.jobId.startsWith(id)), 30_000);
    assert.ok(!isTerminalState((await mesh.job(name, id)).state), 'the job was still running when the FileServer died');
    await mesh.fileServer.kill('SIGKILL');
    // Back after a while: retries may bridge the outage, or the shard fails; either way nothing is lost.
    const back = new Promise((r) => setTimeout(r, 2000)).then(() => mesh.fileServer.start());
    const end = lastState(await watched.done);
    await back;
    const after = await predictionIds(mesh.api, name);
    if (end.state === JobState.JOB_STATE_SUCCEEDED) {
      const missing = readable.filter((id) => !after.has(id));
      assert.equal(missing.length, 0, `SUCCEEDED with ${missing.length} of ${readable.length} images left without a prediction`);
      assert.equal(after.size, readable.length, 'predictions of the images asked for only');
    } else {
      assert.equal(end.state, JobState.JOB_STATE_FAILED, end.message);
      const changed = [...before].filter(([id, ps]) => after.get(id)?.join() !== ps.join()).length;
      assert.equal(changed, 0, `the failed job changed the predictions of ${changed} of ${before.size} images`);
      assert.equal(after.size, before.size, 'and added none');
    }
  });
});

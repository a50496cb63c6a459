/**
 * Nothing lost, nothing silent, through the real job runner and in-process
 * workers reading a real FileServer (fixture model with readImages: it reads
 * every image with the built-in image loader): images that are missing or
 * not images are named in the job's message and marked on the images; an
 * inference run replaces the state's predictions wholesale or, failing, not
 * at all; a FileServer that is down fails the job instead of passing for
 * missing images.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { Config } from '../../libs/config/config.js';
import { FileServerClient } from '../../libs/fileserver-client/index.js';
import { AnnotationType, JobState } from '../../libs/gen/aide/v1/common.js';
import { OPEN_FILE_ACCESS } from '../../services/fileserver/auth.js';
import { startFileServer } from '../../services/fileserver/main.js';
import { insertImages } from '../../services/controller/store/images.js';
import { logger } from '../controller/harness.js';
import { startOrchestratedController } from '../support/orchestrated-controller.js';

const PROJECT = 'reads';
const FILES = ['good0.png', 'good1.png', 'good2.png', 'junk.png', 'missing.png'];

test('image reads: unreadable images reported and marked, predictions replaced atomically, a FileServer down fails the job', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'aide-reads-'));
  mkdirSync(join(root, PROJECT));
  for (const name of ['good0.png', 'good1.png', 'good2.png']) {
    await sharp({ create: { width: 12, height: 9, channels: 3, background: '#406080' } }).png().toFile(join(root, PROJECT, name));
  }
  writeFileSync(join(root, PROJECT, 'junk.png'), randomBytes(3000)); // named .png, random bytes
  const files = await startFileServer(Config.load({ env: {
    AIDE_SECURITY_PLAINTEXT: 'true', AIDE_FILESERVER_HOST: '127.0.0.1', AIDE_FILESERVER_PORT: '0', AIDE_FILESERVER_HTTP_PORT: '0', AIDE_FILESERVER_ROOT: root,
  } }), logger, { access: OPEN_FILE_ACCESS });
  let filesUp = true;
  t.after(async () => { if (filesUp) await files.shutdown(500); });
  const retry = { retries: 2, minTimeout: 10, maxTimeout: 50 };
  const mesh = await startOrchestratedController(t, { fileSource: (project) => new FileServerClient({ address: files.addresses.grpc!, project, retry }) });
  if (!mesh) return;
  const { client: c, db } = mesh;
  const settings = (options: object) => ({
    modelLibrary: 'test.fixture', modelOptionsJson: JSON.stringify({ steps: 1, stepMs: 1, readImages: true, ...options }), rankerLibrary: '', rankerOptionsJson: '',
    autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 2, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
  });
  await c.createProject({ name: PROJECT, displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_POINTS, predictionType: AnnotationType.ANNOTATION_TYPE_POINTS, settings: settings({}) });
  const zebra = (await c.addLabelClass({ project: PROJECT, name: 'zebra', color: '' })).labelClass!.id;
  await insertImages(db, PROJECT, FILES.map((filePath) => ({ filePath, sizeBytes: 1, width: 12, height: 9 })));
  const images = async () => (await c.listImages({ project: PROJECT, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 0, pageToken: '' })).images;
  const ids = Object.fromEntries((await images()).map((i) => [i.filePath, i.id]));
  const allIds = FILES.map((f) => ids[f]!);
  const ended = async (job: Promise<{ job?: { id: string } }>) => {
    const { id } = (await job).job!;
    const events = await mesh.finish(PROJECT, id);
    return { last: events.at(-1)!, job: (await c.getJob({ project: PROJECT, id })).job! };
  };
  const infer = () => ended(c.startInference({ project: PROJECT, imageIds: allIds, goldenQuestionsOnly: false, numWorkers: 2, modelStateId: '', includeAnnotated: false }));
  const predictions = async () => (await c.listPredictions({ project: PROJECT, imageId: '', modelStateId: '', pageSize: 0, pageToken: '' })).predictions;
  const setOptions = (options: object) => c.updateProjectSettings({ project: PROJECT, settings: settings(options) });

  await t.test('training names the unreadable image and does not count it as trained on', async () => {
    const point = (image: string) => ({ id: '', imageId: ids[image]!, labelClassId: zebra, unsure: false, author: '', createdAt: undefined, geometry: { $case: 'point' as const, value: { x: 0.5, y: 0.5 } } });
    await c.upsertAnnotations({ project: PROJECT, annotations: [point('good0.png'), point('junk.png')] });
    const { last, job } = await ended(c.startTraining({ project: PROJECT, numWorkers: 2, numEpochs: 1, imageIds: [], fromScratch: false }));
    assert.equal(last.state, JobState.JOB_STATE_SUCCEEDED, last.message);
    assert.match(job.message, /^trained state v1 on 1 images .*; 1 image unreadable: junk\.png \(is not a readable image\)$/);
    assert.equal(last.message, job.message, 'the final event says it too');
    assert.equal((await c.getImage({ project: PROJECT, id: ids['junk.png']! })).image!.unreadableReason, 'is not a readable image');
  });

  let before: string[] = [];
  await t.test('inference counts what it predicted and names what it could not read; GetImage and ListImages say why', async () => {
    const { last, job } = await infer();
    assert.equal(last.state, JobState.JOB_STATE_SUCCEEDED, last.message);
    assert.match(job.message, /^predicted 3 images with state v1; 2 images unreadable: junk\.png \(is not a readable image\), missing\.png \(not found\)$/);
    assert.equal(last.message, job.message);
    const reasons = Object.fromEntries((await images()).map((i) => [i.filePath, i.unreadableReason]));
    assert.deepEqual(reasons, { 'good0.png': '', 'good1.png': '', 'good2.png': '', 'junk.png': 'is not a readable image', 'missing.png': 'not found' });
    assert.equal((await c.getImage({ project: PROJECT, id: ids['missing.png']! })).image!.unreadableReason, 'not found');
    const stored = await predictions();
    assert.deepEqual(new Set(stored.map((p) => p.imageId)), new Set(['good0.png', 'good1.png', 'good2.png'].map((f) => ids[f])));
    before = stored.map((p) => p.id).sort();
  });

  await t.test('a run that fails after one shard delivered leaves the old predictions exactly as they were', async () => {
    // Shards (round robin by path): good0, good2, missing | good1, junk — the second fails on every worker.
    await setOptions({ failOn: 'good1' });
    const { last } = await infer();
    assert.equal(last.state, JobState.JOB_STATE_FAILED, last.message);
    assert.deepEqual((await predictions()).map((p) => p.id).sort(), before);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM staged_predictions');
    assert.equal(rows[0]!.n, 0, 'the failed run left nothing staged');
  });

  await t.test('a run that succeeds replaces them wholesale', async () => {
    await setOptions({});
    const { last } = await infer();
    assert.equal(last.state, JobState.JOB_STATE_SUCCEEDED, last.message);
    const after = (await predictions()).map((p) => p.id);
    assert.equal(after.length, before.length);
    assert.equal(after.filter((id) => before.includes(id)).length, 0, 'none of the old set is left');
    before = after.sort();
  });

  await t.test('the FileServer down: reads are retried, then the job fails; nothing passes for a missing image', async () => {
    await files.shutdown(500);
    filesUp = false;
    const { last, job } = await infer();
    assert.equal(last.state, JobState.JOB_STATE_FAILED, last.message);
    assert.equal(job.state, JobState.JOB_STATE_FAILED);
    assert.doesNotMatch(job.error, /unreadable|not found/);
    assert.deepEqual((await predictions()).map((p) => p.id).sort(), before, 'the old predictions stay');
    assert.equal((await c.getImage({ project: PROJECT, id: ids['good0.png']! })).image!.unreadableReason, '', 'a readable image is not marked');
  });
});

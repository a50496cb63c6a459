/**
 * An inference run's images live in the database, not in the controller's
 * memory (store/inference-images.ts): chosen by one statement, split into
 * shards round robin in path order (as shards.ts splits a list), read back a
 * page per shard across page seams without skipping or repeating one, and
 * gone when the run is discarded or its job commits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { isAideError } from '../../libs/errors.js';
import { JobHeader } from '../../libs/gen/aide/v1/worker.js';
import { jobRequests } from '../../libs/worker-client/requests.js';
import { shard } from '../../services/controller/orchestration/shards.js';
import { insertImages } from '../../services/controller/store/images.js';
import {
  chooseInferenceImages, discardInferenceImages, forgetInferenceImages, inferenceGoldenImages, inferenceImagePages, inferenceImagePaths, recordInferenceReads,
} from '../../services/controller/store/inference-images.js';
import { createJob } from '../../services/controller/store/jobs.js';
import { controllerDb } from '../support/controller-db.js';

const PROJECT = 'paged';

test('inference images: chosen in the database, sharded in path order, read a page at a time', async (t) => {
  const db = await controllerDb(t, PROJECT);
  if (!db) return;
  // Paths out of insertion order, so path order is not id or insertion order.
  const paths = Array.from({ length: 23 }, (_, i) => `img/${String((i * 7) % 23).padStart(2, '0')}.png`);
  await insertImages(db, PROJECT, paths.map((filePath) => ({ filePath, sizeBytes: 1, width: 4, height: 4 })));
  const ids = new Map((await db.query<{ id: string; file_path: string }>('SELECT id, file_path FROM images WHERE project = $1', [PROJECT])).rows.map((r) => [r.file_path, r.id]));
  await db.query('UPDATE images SET golden_question = true WHERE id = $1', [ids.get('img/11.png')]);
  const job = await createJob(db, { project: PROJECT, kind: 'inference', options: {} });
  const run = { jobId: job.id, runId: randomUUID() };

  const counts = await chooseInferenceImages(db, PROJECT, run, {}, 3);
  const sorted = [...paths].sort();
  const expected = shard(sorted, 3);
  assert.deepEqual(counts, expected.map((s) => s.length), 'round robin in path order, as shards.ts splits a list');

  await t.test('pages of 2 per shard: every image of the shard once, in path order, across the seams', async () => {
    for (const [k, want] of expected.entries()) {
      const pages: string[][] = [];
      for await (const page of inferenceImagePages(db, run.runId, k, 2)) {
        for (const image of page) assert.equal(image.id, ids.get(image.filename), 'each path carries its own image id');
        pages.push(page.map((i) => i.filename));
      }
      assert.ok(pages.every((p) => p.length >= 1 && p.length <= 2), `shard ${k}: pages of at most 2`);
      assert.deepEqual(pages.flat(), want);
    }
  });

  await t.test('fewer images than shards: only non-empty shards', async () => {
    const few = { jobId: job.id, runId: randomUUID() };
    assert.deepEqual(await chooseInferenceImages(db, PROJECT, few, { imageIds: [ids.get('img/00.png')!, ids.get('img/01.png')!] }, 5), [1, 1]);
    await discardInferenceImages(db, few.runId);
  });

  await t.test('golden questions and the paths of unreadable images are looked up in the run', async () => {
    assert.deepEqual(await inferenceGoldenImages(db, run.runId), [ids.get('img/11.png')]);
    const paths = await inferenceImagePaths(db, run.runId, [ids.get('img/03.png')!, randomUUID()]);
    assert.deepEqual([...paths], [[ids.get('img/03.png'), 'img/03.png']]);
  });

  await t.test('reads recorded: unreadable images get their reason, the others lose an old one', async () => {
    await db.query("UPDATE images SET unreadable_reason = 'not found' WHERE id = $1", [ids.get('img/04.png')]);
    await recordInferenceReads(db, PROJECT, run.runId, [{ imageId: ids.get('img/09.png')!, reason: 'is not a readable image' }]);
    const reasons = new Map((await db.query<{ file_path: string; unreadable_reason: string }>(
      "SELECT file_path, unreadable_reason FROM images WHERE project = $1 AND unreadable_reason <> ''", [PROJECT])).rows.map((r) => [r.file_path, r.unreadable_reason]));
    assert.deepEqual([...reasons], [['img/09.png', 'is not a readable image']]);
  });

  await t.test('discarded with its run; the job commit forgets what earlier runs left', async () => {
    const count = async () => Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM inference_images WHERE job_id = $1', [job.id])).rows[0]!.n);
    const crashed = { jobId: job.id, runId: randomUUID() };
    await chooseInferenceImages(db, PROJECT, crashed, {}, 2);
    await discardInferenceImages(db, run.runId);
    assert.equal(await count(), 23, 'only the discarded run went');
    await forgetInferenceImages(db, job.id);
    assert.equal(await count(), 0);
  });
});

test('a streamed image source must give the count its header announced: otherwise DATA_LOSS, not a short job', async () => {
  const image = (i: number) => ({ id: `i${i}`, filename: `${i}.png`, annotations: [] });
  const source = (count: number, given: number) => ({
    count,
    async *pages() { for (let i = 0; i < given; i += 2) yield [image(i), ...(i + 1 < given ? [image(i + 1)] : [])]; },
  });
  const sent = async (count: number, given: number) => {
    const out: string[] = [];
    for await (const r of jobRequests(JobHeader.fromPartial({ jobId: 'j' }), source(count, given), null)) {
      if (r.payload.$case === 'header') assert.equal(r.payload.value.numImages, count);
      if (r.payload.$case === 'images') out.push(...r.payload.value.images.map((i) => i.id));
    }
    return out;
  };
  assert.deepEqual(await sent(5, 5), ['i0', 'i1', 'i2', 'i3', 'i4']);
  await assert.rejects(sent(5, 3), (err) => isAideError(err, 'DATA_LOSS') && /gave 3 images where 5 were announced/.test(err.message));
  await assert.rejects(sent(3, 5), (err) => isAideError(err, 'DATA_LOSS'));
});

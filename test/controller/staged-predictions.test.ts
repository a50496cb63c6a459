/**
 * An inference run's staging (store/predictions.ts, store/embeddings.ts):
 * predictions written as column arrays come back exactly, whatever their
 * logits' lengths and values; a restaged image replaces what the run staged
 * for it; and the commit takes the run's images only, so an image deleted
 * while the run staged it (the staging tables have no foreign keys since
 * migration 0010) is neither copied nor an error.
 */
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImagePredictions } from '../../services/controller/domain.js';
import { inTransaction } from '../../services/controller/store/db.js';
import { commitStagedEmbeddings, imageExtras, stageEmbeddings } from '../../services/controller/store/embeddings.js';
import { insertImages } from '../../services/controller/store/images.js';
import { chooseInferenceImages } from '../../services/controller/store/inference-images.js';
import { commitStagedPredictions, insertPredictions, predictionsOfState, stagePredictions } from '../../services/controller/store/predictions.js';
import { oneClassStateDb } from '../support/controller-db.js';

const PROJECT = 'staging';

test('staged predictions and embeddings: exact columns, restaging replaces, the commit takes the run\'s live images only', async (t) => {
  const setup = await oneClassStateDb(t, PROJECT);
  if (!setup) return;
  const { pool, cls, state } = setup;
  await insertImages(pool, PROJECT, ['a.png', 'b.png', 'c.png'].map((filePath) => ({ filePath, sizeBytes: 1, width: 8, height: 8 })));
  const [a, b, c] = (await pool.query<{ id: string }>('SELECT id FROM images WHERE project = $1 ORDER BY file_path', [PROJECT])).rows.map((r) => r.id);
  const { rows: [job] } = await pool.query<{ id: string }>(`INSERT INTO jobs (project, kind) VALUES ($1, 'inference') RETURNING id`, [PROJECT]);
  const run = { jobId: job!.id, runId: randomUUID() };
  assert.deepEqual(await chooseInferenceImages(pool, PROJECT, run, {}, 1), [3]);

  const label = (logits: number[], priority = 0) => ({ labelClassId: cls!.id, confidence: 0.25, logits, priority, geometry: { kind: 'label' as const } });
  const embedding = (byte: number) => ({ dim: 2, float16: new Uint8Array(4).fill(byte) });
  const stage = (images: ImagePredictions[]) => inTransaction(pool, async (client) => {
    await stagePredictions(client, run, state.id, images);
    await stageEmbeddings(client, run, state.id, images.map((i) => i.imageId), images.flatMap((i) => (i.embedding ? [{ imageId: i.imageId, embedding: i.embedding }] : [])));
  });

  await stage([
    { imageId: a!, predictions: [label([1, 2, 3])], embedding: embedding(1) },
    { imageId: b!, predictions: [label([9])], embedding: embedding(2) },
    { imageId: c!, predictions: [label([4, 5])], embedding: embedding(3) },
  ]);
  // b again (a retried shard): the run's rows for it are replaced, not added to.
  await stage([{
    imageId: b!,
    predictions: [
      label([], 2),
      label([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0.5, 1e-300, 0.1 + 0.2], 1),
      { labelClassId: null, confidence: 0.5, logits: [7], priority: 0, geometry: { kind: 'box' as const, x: 1, y: 2, width: 3, height: 4 } },
    ],
    embedding: embedding(4),
  }]);
  await pool.query('DELETE FROM images WHERE id = $1', [c]);
  await inTransaction(pool, async (client) => {
    await commitStagedPredictions(client, run, state.id);
    await commitStagedEmbeddings(client, run, state.id);
  });

  const stored = await predictionsOfState(pool, PROJECT, state.id);
  assert.deepEqual(stored.map((i) => i.imageId).sort(), [a!, b!].sort(), 'the deleted image has none');
  const ofImage = (id: string) => stored.find((i) => i.imageId === id)!.predictions
    .map((p) => ({ logits: p.logits, priority: p.priority, labelClassId: p.labelClassId, geometry: p.geometry }))
    .sort((x, y) => y.priority - x.priority || x.logits.length - y.logits.length);
  assert.deepEqual(ofImage(a!), [{ logits: [1, 2, 3], priority: 0, labelClassId: cls!.id, geometry: { kind: 'label' } }]);
  assert.deepEqual(ofImage(b!), [
    { logits: [], priority: 2, labelClassId: cls!.id, geometry: { kind: 'label' } },
    { logits: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0.5, 1e-300, 0.1 + 0.2], priority: 1, labelClassId: cls!.id, geometry: { kind: 'label' } },
    { logits: [7], priority: 0, labelClassId: null, geometry: { kind: 'box', x: 1, y: 2, width: 3, height: 4 } },
  ]);
  const extras = await imageExtras(pool, state.id, [a!, b!]);
  assert.deepEqual([...extras.embeddings.get(a!)!.float16], [1, 1, 1, 1]);
  assert.deepEqual([...extras.embeddings.get(b!)!.float16], [4, 4, 4, 4], 'the restaged embedding');
  const { rows: [left] } = await pool.query<{ n: string }>('SELECT (SELECT count(*) FROM staged_predictions) + (SELECT count(*) FROM staged_image_embeddings) AS n');
  assert.equal(Number(left!.n), 0, 'the commit leaves nothing staged');
});

test('insertPredictions: more rows than one statement carries (10,000) are all stored, each with its own logits', async (t) => {
  const setup = await oneClassStateDb(t, PROJECT);
  if (!setup) return;
  const { pool, cls, state } = setup;
  const n = 10_001;
  await insertImages(pool, PROJECT, Array.from({ length: n }, (_, i) => ({ filePath: `${i}.png`, sizeBytes: 1, width: 8, height: 8 })));
  const ids = (await pool.query<{ id: string }>('SELECT id FROM images WHERE project = $1 ORDER BY file_path', [PROJECT])).rows.map((r) => r.id);
  const logitsOf = (i: number) => [i, -i / 3];
  assert.equal(await insertPredictions(pool, PROJECT, state.id, ids.map((imageId, i) => ({
    imageId, predictions: [{ labelClassId: cls!.id, confidence: 0.5, logits: logitsOf(i), priority: i, geometry: { kind: 'label' as const } }],
  }))), n);
  const { rows } = await pool.query<{ image_id: string; logits: number[]; priority: number }>('SELECT image_id, logits, priority FROM predictions WHERE state_id = $1', [state.id]);
  assert.equal(rows.length, n);
  const index = new Map(ids.map((id, i) => [id, i]));
  assert.ok(rows.every((r) => r.priority === index.get(r.image_id) && r.logits[0] === r.priority && r.logits[1] === -r.priority / 3),
    'every row has the logits and priority of its own image, across the statements');
});

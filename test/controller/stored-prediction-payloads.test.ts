/**
 * A state's stored predictions as StreamPredictions and ranking send them
 * (storedPredictionPayloads): a group of images per query, the next groups
 * (GROUPS_AHEAD of them) read while the caller handles the current one, and
 * never more than those ahead, so memory stays bounded however large the state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { GROUPS_AHEAD, storedPredictionPayloads } from '../../services/controller/prediction-payloads.js';
import { upsertAnnotations } from '../../services/controller/store/annotations.js';
import { insertEmbeddings } from '../../services/controller/store/embeddings.js';
import { insertImages } from '../../services/controller/store/images.js';
import { insertState } from '../../services/controller/store/model-states.js';
import type { PredictionInput } from '../../services/controller/domain.js';
import { insertPredictions, predictedImageGroups, predictionsOfImageGroup, predictionsOfState } from '../../services/controller/store/predictions.js';
import { oneClassStateDb } from '../support/controller-db.js';
import { waitUntil } from '../support/wait.js';

const PROJECT = 'payloads';
/** Five groups of a thousand images (predictedImageGroups' page), one prediction each. */
const N = 4_500;

/** `pool`, counting the group reads (one range of the state's images each) it is asked for. */
function countingGroupReads(pool: pg.Pool): { db: pg.Pool; reads: () => number } {
  let reads = 0;
  const db = new Proxy(pool, {
    get(target, key, receiver) {
      if (key !== 'query') return Reflect.get(target, key, receiver) as unknown;
      return (text: unknown, ...rest: unknown[]) => {
        const sql = typeof text === 'string' ? text : (text as pg.QueryConfig | undefined)?.text;
        if (sql?.includes('p.image_id BETWEEN')) reads++;
        return (target.query as (...args: unknown[]) => unknown)(text, ...rest);
      };
    },
  });
  return { db, reads: () => reads };
}

test('storedPredictionPayloads: every image once in id order with its extras, GROUPS_AHEAD groups read ahead and no more', async (t) => {
  const setup = await oneClassStateDb(t, PROJECT);
  if (!setup) return;
  const { pool, states, cls, state } = setup;
  await insertImages(pool, PROJECT, Array.from({ length: N }, (_, i) => ({ filePath: `${i}.png`, sizeBytes: 1, width: 8, height: 8 })));
  const ids = (await pool.query<{ id: string }>('SELECT id FROM images WHERE project = $1 ORDER BY id', [PROJECT])).rows.map((r) => r.id);
  await insertPredictions(pool, PROJECT, state.id, ids.map((imageId, i) => ({
    imageId, predictions: [{ labelClassId: cls!.id, confidence: i / N, logits: [i, i + 0.5], priority: 0, geometry: { kind: 'label' as const } }],
  })));
  // Extras in the first and the last group.
  const embedded = [ids[3]!, ids[N - 2]!];
  await insertEmbeddings(pool, state.id, embedded.map((imageId) => ({ imageId, embedding: { dim: 2, float16: new Uint8Array([1, 2, 3, 4]) } })));
  const annotated = [ids[5]!, ids[N - 1]!];
  await upsertAnnotations(pool, PROJECT, annotated.map((imageId) => ({ imageId, labelClassId: cls!.id, unsure: false, author: 'test', geometry: { kind: 'label' as const } })));

  await t.test('every image once, in id order, with its prediction, embedding and annotated flag', async () => {
    const seen: string[] = [];
    for await (const batch of storedPredictionPayloads(pool, state.id)) {
      for (const part of batch) {
        assert.equal(part.$case, 'image');
        if (part.$case !== 'image') continue;
        const image = part.value;
        const i = seen.push(image.imageId) - 1;
        assert.deepEqual(image.predictions.map((p) => [p.confidence, p.logits, p.modelStateId]), [[i / N, [i, i + 0.5], state.id]]);
        assert.equal(image.embedding?.dim ?? 0, embedded.includes(image.imageId) ? 2 : 0);
        assert.equal(image.annotated, annotated.includes(image.imageId));
      }
    }
    assert.deepEqual(seen, ids);
  });

  await t.test('a group reads every kind of prediction as the row-by-row read does', async () => {
    const other = await insertState(states, { project: PROJECT, modelLibrary: 'test', labelClassMap: {}, stats: {}, parentId: null, numImages: 0 }, Buffer.from('s'));
    const base = { labelClassId: null, confidence: 0.25, logits: [], priority: -1 };
    const kinds: PredictionInput[] = [
      { ...base, labelClassId: cls!.id, logits: [1.5, Number.MAX_VALUE], geometry: { kind: 'label' } },
      { ...base, geometry: { kind: 'point', x: 0.5, y: -0.75 } },
      { ...base, labelClassId: cls!.id, priority: 3, geometry: { kind: 'box', x: 1, y: 2, width: 3, height: 4 } },
      { ...base, geometry: { kind: 'segmentation', width: 2, height: 1, labelMap: new Uint8Array([1, 2]), confidenceMap: new Uint8Array(8).fill(7), logitsMap: new Uint8Array(0), numClasses: 0 } },
      { ...base, geometry: { kind: 'segmentation', width: 1, height: 1, labelMap: new Uint8Array([3]), confidenceMap: new Uint8Array(4).fill(9), logitsMap: new Uint8Array(8).fill(5), numClasses: 2 } },
    ];
    // Images with one kind each, then one with all of them.
    await insertPredictions(pool, PROJECT, other.id, [
      ...kinds.map((p, i) => ({ imageId: ids[i]!, predictions: [p] })),
      { imageId: ids[kinds.length]!, predictions: kinds },
    ]);
    const groups: unknown[] = [];
    for await (const group of predictedImageGroups(pool, other.id)) groups.push(...await predictionsOfImageGroup(pool, other.id, group));
    const expected = await predictionsOfState(pool, PROJECT, other.id);
    assert.equal(expected.length, kinds.length + 1);
    assert.deepEqual(groups, expected);
  });

  await t.test('while the caller holds its first batch, the next GROUPS_AHEAD groups are read and no other', async () => {
    const { db, reads } = countingGroupReads(pool);
    const batches = storedPredictionPayloads(db, state.id)[Symbol.asyncIterator]();
    try {
      assert.equal((await batches.next()).done, false);
      await waitUntil('the next groups read ahead', async () => reads() >= 1 + GROUPS_AHEAD);
      // Time for a read past them to start, were there one.
      await sleep(200);
      assert.equal(reads(), 1 + GROUPS_AHEAD);
    } finally {
      await batches.return(undefined);
    }
  });
});

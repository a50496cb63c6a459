/**
 * Reads (and ranking's writes) that must cost about their own rows, whatever
 * the statistics were before the bulk writes that precede them (registration,
 * inference, ranking): NextBatch walks the state's priority index (with stale
 * statistics the planner drove it from the project's images and joined every
 * prediction of the state per page), a StreamPredictions group looks its
 * images' embeddings up (it scanned every embedding of the state per group),
 * and a page of priorities looks its predictions up (it scanned every
 * prediction of the state per page).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type pg from 'pg';
import { imageExtrasQuery } from '../../services/controller/store/embeddings.js';
import { insertImages } from '../../services/controller/store/images.js';
import { uuidsToBytes } from '../../libs/wire/uuid-bytes.js';
import { insertPredictions, nextBatch, nextBatchQuery, refreshPredictionStatistics, setPrioritiesQuery } from '../../services/controller/store/predictions.js';
import { oneClassStateDb } from '../support/controller-db.js';

const PROJECT = 'plan';
const N = 20_000;
const CHUNK = 5_000;

interface PlanNode { 'Node Type': string; 'Index Name'?: string; 'Relation Name'?: string; Plans?: PlanNode[] }

/** The plan's nodes, depth first. */
const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

async function plan(db: pg.Pool, q: pg.QueryConfig): Promise<PlanNode> {
  const { rows } = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>({ text: `EXPLAIN (FORMAT JSON) ${q.text}`, values: q.values });
  return rows[0]!['QUERY PLAN'][0].Plan;
}

test('after bulk registration, inference and ranking: NextBatch walks the priority index, a group\'s embeddings and a page\'s predictions are looked up', async (t) => {
  const setup = await oneClassStateDb(t, PROJECT);
  if (!setup) return;
  const { pool: db, cls, state } = setup;
  // What a large project's round writes in bulk, with no ANALYZE of its own in between (autovacuum is off on CI's Postgres).
  for (let s = 0; s < N; s += CHUNK) {
    await insertImages(db, PROJECT, Array.from({ length: CHUNK }, (_, j) => ({ filePath: `${(s + j) % 2 ? 'a' : 'b'}/${s + j}.png`, sizeBytes: 1, width: 8, height: 8 })));
  }
  const ids = (await db.query<{ id: string }>('SELECT id FROM images WHERE project = $1', [PROJECT])).rows.map((r) => r.id);
  for (let s = 0; s < N; s += CHUNK) {
    await insertPredictions(db, PROJECT, state.id, ids.slice(s, s + CHUNK).map((imageId) => ({
      imageId, predictions: [{ labelClassId: cls!.id, confidence: 0.5, logits: [], priority: 0, geometry: { kind: 'label' as const } }],
    })));
  }
  await db.query(`INSERT INTO image_embeddings SELECT $1, id, 2, '\\x00000000'::bytea FROM images`, [state.id]);
  await refreshPredictionStatistics(db);
  await db.query('UPDATE predictions SET priority = random() WHERE state_id = $1', [state.id]);
  await refreshPredictionStatistics(db, 'priorities');

  const first = await nextBatch(db, PROJECT, state.id, { pathPrefix: '', excludePrefixes: [] }, { limit: 100 });
  assert.equal(first.length, 100);
  const after = JSON.stringify([first.at(-1)!.priority, first.at(-1)!.imageId]);
  for (const [what, filter, cursor] of [
    ['a first page', { pathPrefix: '', excludePrefixes: [] }, undefined],
    ['a page after a cursor', { pathPrefix: '', excludePrefixes: [] }, after],
    ['a path prefix', { pathPrefix: 'a/', excludePrefixes: [] }, undefined],
    ['an excluded prefix', { pathPrefix: '', excludePrefixes: ['b/'] }, undefined],
  ] as const) {
    const all = nodes(await plan(db, nextBatchQuery(PROJECT, state.id, filter, { limit: 100, after: cursor })));
    assert.ok(!all.some((n) => n['Node Type'].includes('Sort')), `${what}: no sort of the state's predictions\n${JSON.stringify(all.map((n) => n['Node Type']))}`);
    const driving = all.find((n) => n['Relation Name'] === 'predictions' || n['Relation Name'] === 'images');
    assert.equal(driving?.['Index Name'], 'predictions_state_priority_image', `${what}: read in the priority index's order\n${JSON.stringify(all)}`);
  }

  const group = nodes(await plan(db, imageExtrasQuery(state.id, ids.slice(0, 1000))));
  const embeddings = group.filter((n) => n['Relation Name'] === 'image_embeddings');
  assert.ok(embeddings.length > 0 && embeddings.every((n) => n['Node Type'].startsWith('Index')),
    `a group's embeddings by their key, not a scan of the state's\n${JSON.stringify(group.map((n) => [n['Node Type'], n['Relation Name']]))}`);

  const page = (await db.query<{ id: string }>('SELECT id FROM predictions WHERE state_id = $1 LIMIT 8192', [state.id])).rows.map((r) => r.id);
  const write = nodes(await plan(db, setPrioritiesQuery(state.id, uuidsToBytes(page), page.map((_, i) => i))));
  const predictions = write.filter((n) => n['Relation Name'] === 'predictions' && n['Node Type'] !== 'ModifyTable');
  assert.ok(predictions.length > 0 && predictions.every((n) => n['Index Name'] === 'predictions_pkey'),
    `a page of priorities finds its predictions by id, not by a scan of the state's\n${JSON.stringify(write.map((n) => [n['Node Type'], n['Relation Name'], n['Index Name']]))}`);
});

/**
 * Every foreign key of the controller's schema has an index leading with its
 * columns, or a reason here why it may go without: deleting a referenced row
 * (an image, a state, a project's everything) finds the referencing rows
 * through it, and without one each deleted row scans the whole referencing
 * table (deleting a project of 12,000 images ran for over 16 minutes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { controllerDb } from '../support/controller-db.js';

/** Foreign keys without an index, as "table(columns)", and why that is fine. */
const UNINDEXED: Record<string, string> = {
  'annotations(label_class_id)': 'a label class is deleted alone, one scan of the annotations',
  'predictions(label_class_id)': 'a label class is deleted alone: one scan of the predictions per deleted class',
  'model_states(parent_id)': 'a project has tens of states',
  'model_states(job_id)': 'a partial index (model_states_partial_job) serves the partial states; a project has tens of states',
  'marketplace_entries(model_state_id)': 'a handful of entries',
  'marketplace_entries(origin_project)': 'a handful of entries',
  'projects(current_state_id)': 'one row per project',
};

test('every foreign key has an index leading with its columns, or a reason to go without', async (t) => {
  const db = await controllerDb(t, 'fk');
  if (!db) return;
  const { rows } = await db.query<{ key: string; indexed: boolean }>(`
    SELECT c.conrelid::regclass::text || '(' || (
             SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) || ')' AS key,
           EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indpred IS NULL
                   AND (string_to_array(i.indkey::text, ' '))[1:cardinality(c.conkey)] = c.conkey::text[]) AS indexed
    FROM pg_constraint c
    WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace`);
  assert.ok(rows.length >= 20, `found ${rows.length} foreign keys`);
  const keys = new Set(rows.map((r) => r.key));
  for (const key of Object.keys(UNINDEXED)) assert.ok(keys.has(key), `${key} is no foreign key any more: drop it from UNINDEXED`);
  const missing = rows.filter((r) => !r.indexed && !(r.key in UNINDEXED)).map((r) => r.key);
  assert.deepEqual(missing, [], 'foreign keys a deletion would find by scanning their whole table');
  const needless = rows.filter((r) => r.indexed && r.key in UNINDEXED).map((r) => r.key);
  assert.deepEqual(needless, [], 'indexed after all: drop them from UNINDEXED');
  for (const key of ['predictions(image_id)', 'image_embeddings(image_id)', 'golden_results(image_id)', 'inference_images(image_id)', 'predictions(state_id)']) {
    assert.ok(rows.find((r) => r.key === key)?.indexed, `${key} is indexed`);
  }
});

/**
 * Values read in Postgres's send forms (store/send-forms.ts) decode to what
 * the text forms say, on the real Postgres and on PGlite: float8 arrays empty,
 * of one and several values, two-dimensional, concatenated as a ranking page
 * reads them; a NULL element refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { float8Arrays, float8s } from '../../services/controller/store/send-forms.js';
import { databaseTargets, withTestSchema } from '../support/postgres.js';

const ARRAYS = ['{}', '{0.25}', '{1.5,-2,1e-300,3.141592653589793}', '{{1,2},{3,4}}'];

for (const target of await databaseTargets()) {
  test(`send forms decode as their text forms read (${target.name})`, async (t) => {
    const db = await withTestSchema(t, target);
    if (!db) return;
    const { rows: [row] } = await db.pool.query<{ arrays: Buffer; json: string[] }>(
      `SELECT string_agg(array_send(s::float8[]), ''::bytea ORDER BY n) AS arrays, array_agg(array_to_json(s::float8[])::text ORDER BY n) AS json
       FROM unnest($1::text[]) WITH ORDINALITY AS x(s, n)`, [ARRAYS]);
    const expected = row!.json.map((s) => (JSON.parse(s) as number[] | number[][]).flat());
    assert.deepEqual(float8Arrays(row!.arrays), { values: expected.flat(), counts: expected.map((a) => a.length) });
    const { rows: [values] } = await db.pool.query<{ b: Buffer }>(`SELECT float8send(0.25) || float8send(-1.5) AS b`);
    assert.deepEqual(float8s(values!.b), [0.25, -1.5]);
    assert.deepEqual(float8Arrays(null), { values: [], counts: [] });
    const { rows: [withNull] } = await db.pool.query<{ b: Buffer }>(`SELECT array_send('{1,NULL}'::float8[]) AS b`);
    assert.throws(() => float8Arrays(withNull!.b), /NULL element/);
  });
}

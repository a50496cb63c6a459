import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Config } from '../../libs/config/config.js';
import { DbConnector, databaseOptions, migrate, openDatabase, sqlState, withDefaultUser, type Migration } from '../../libs/db/index.js';
import { createLogger } from '../../libs/log.js';
import { databaseTargets, uniqueSchemaName, withTestSchema } from '../support/postgres.js';

const logger = createLogger('test-db', 'silent');
const MIGRATIONS: Migration[] = [
  { id: '0001_jobs', sql: 'CREATE TABLE jobs (id serial PRIMARY KEY, name text NOT NULL)' },
  { id: '0002_seed', sql: "INSERT INTO jobs (name) VALUES ('first'); INSERT INTO jobs (name) VALUES ('second')" },
  { id: '0003_state', sql: "ALTER TABLE jobs ADD COLUMN state text NOT NULL DEFAULT 'queued'" },
];

for (const target of await databaseTargets()) {
  test(`db on ${target.name}`, async (t) => {
    const database = await withTestSchema(t, target);
    if (!database) return;
    const db = new DbConnector(database);

    await t.test('execute: numReturn all / n / one / none, and parameters', async () => {
      await db.execute('CREATE TABLE items (id int PRIMARY KEY, name text, meta jsonb, tags text[])');
      for (const [id, name] of [[1, 'a'], [2, "b'; DROP TABLE items; --"], [3, null]] as const) {
        assert.equal(await db.execute('INSERT INTO items (id, name, meta, tags) VALUES ($1, $2, $3, $4)',
          [id, name, { id }, ['x', String(id)]]), undefined);
      }
      const all = await db.execute<{ id: number; name: string | null }>('SELECT id, name FROM items ORDER BY id', [], 'all');
      assert.deepEqual(all, [{ id: 1, name: 'a' }, { id: 2, name: "b'; DROP TABLE items; --" }, { id: 3, name: null }]);
      assert.deepEqual(await db.execute('SELECT id FROM items ORDER BY id', null, 1), [{ id: 1 }]);
      assert.deepEqual(await db.execute('SELECT id FROM items ORDER BY id', undefined, 2), [{ id: 1 }, { id: 2 }]);
      assert.deepEqual(await db.execute('SELECT id FROM items ORDER BY id', [], 10), [{ id: 1 }, { id: 2 }, { id: 3 }]);
      assert.deepEqual(await db.execute('SELECT id FROM items ORDER BY id', [], 0), []);
      assert.deepEqual(await db.execute('SELECT id FROM items ORDER BY id', [], 'one'), [{ id: 1 }]);
      assert.deepEqual(await db.execute('SELECT id FROM items WHERE id > $1', [99], 'all'), []);
      assert.equal(await db.execute('SELECT id FROM items'), undefined);
      assert.equal(await db.execute('SELECT id FROM items', [], null), undefined);
      const [row] = await db.execute<{ meta: unknown; tags: string[] }>('SELECT meta, tags FROM items WHERE id = $1', [2], 1);
      assert.deepEqual(row, { meta: { id: 2 }, tags: ['x', '2'] });
      // Several statements (no parameters): the last statement's rows.
      assert.deepEqual(await db.execute('SELECT 1 AS a; SELECT 2 AS b', [], 'all'), [{ b: 2 }]);
      for (const bad of [-1, 1.5, 'some', Number.NaN]) {
        await assert.rejects(db.execute('SELECT 1', [], bad as never), TypeError);
      }
      await assert.rejects(db.execute('SELEC 1', [], 'all'), (err: unknown) => sqlState(err) === '42601');
      await assert.rejects(db.execute('SELECT $1::int', ['nope'], 'all'), (err: unknown) => sqlState(err) === '22P02');
    });

    await t.test('transaction: commit, rollback on throw, nested savepoints', async () => {
      await db.execute('CREATE TABLE ledger (id int PRIMARY KEY, note text)');
      const value = await db.transaction(async (client, tx) => {
        assert.equal(tx.inTransaction, true);
        await client.query('INSERT INTO ledger VALUES (1, $1)', ['committed']);
        await tx.execute('INSERT INTO ledger VALUES ($1, $2)', [2, 'committed too']);
        return 'done';
      });
      assert.equal(value, 'done');
      await assert.rejects(db.transaction(async (_client, tx) => {
        await tx.execute('INSERT INTO ledger VALUES (3, $1)', ['rolled back']);
        throw new Error('boom');
      }), /boom/);
      await assert.rejects(db.transaction(async (client) => {
        await client.query('INSERT INTO ledger VALUES (4, $1)', ['rolled back']);
        await client.query('INSERT INTO ledger VALUES (1, $1)', ['duplicate']);
      }), (err: unknown) => sqlState(err) === '23505');
      await db.transaction(async (_c, tx) => {
        await tx.execute('INSERT INTO ledger VALUES (5, $1)', ['outer']);
        await assert.rejects(tx.transaction(async (_c2, inner) => {
          await inner.execute('INSERT INTO ledger VALUES (6, $1)', ['inner, rolled back']);
          throw new Error('inner');
        }), /inner/);
        await tx.transaction(async (_c2, inner) => { await inner.execute('INSERT INTO ledger VALUES (7, $1)', ['inner']); });
      });
      const ids = (await db.execute<{ id: number }>('SELECT id FROM ledger ORDER BY id', [], 'all')).map((r) => r.id);
      assert.deepEqual(ids, [1, 2, 5, 7]);
      // The pool is still healthy after the failed transactions.
      assert.deepEqual(await db.execute('SELECT count(*)::int AS n FROM ledger', [], 1), [{ n: 4 }]);
    });

    await t.test('two transactions at once: each isolated, one rolls back', async () => {
      await db.execute('CREATE TABLE tx_race (owner text, n int)');
      const run = (owner: string, fail: boolean) => db.transaction(async (_c, tx) => {
        for (let n = 0; n < 5; n++) {
          await tx.execute('INSERT INTO tx_race VALUES ($1, $2)', [owner, n]);
          await new Promise((r) => setTimeout(r, 2));
        }
        const mine = await tx.execute<{ n: number }>('SELECT count(*)::int AS n FROM tx_race WHERE owner = $1', [owner], 1);
        assert.equal(mine[0]!.n, 5);
        if (fail) throw new Error(`${owner} fails`);
        return owner;
      });
      const [a, b] = await Promise.allSettled([run('a', false), run('b', true)]);
      assert.equal(a.status, 'fulfilled');
      assert.equal(b.status, 'rejected');
      assert.deepEqual(await db.execute('SELECT owner, count(*)::int AS n FROM tx_race GROUP BY owner', [], 'all'), [{ owner: 'a', n: 5 }]);
    });

    await t.test('concurrent queries: 64 at once, distinct statements and parameters', async () => {
      const results = await Promise.all(Array.from({ length: 64 }, (_, i) =>
        i % 3 === 0
          ? db.execute<{ a: number; b: string }>(`SELECT $1::int AS a, $2::text AS b, ${i} AS c`, [i, `x${i}`], 'all')
          : i % 3 === 1
            ? db.execute<{ a: number; b: string }>(`SELECT $1::int AS a, 'x' || $1::text AS b`, [i], 'all')
            : db.execute<{ a: number; b: string }>(`SELECT ${i} AS a, 'x${i}' AS b`, [], 'all')));
      results.forEach((rows, i) => assert.deepEqual({ a: rows[0]!.a, b: rows[0]!.b }, { a: i, b: `x${i}` }, `query ${i}`));
      // Errors in the middle of the crowd stay with their own query.
      // (both through the simple protocol, no parameters, and the extended one.)
      const failing = (i: number) => (i % 8 === 0 ? db.execute('SELECT 1/0 AS a', [], 1) : db.execute('SELECT $1::int / 0 AS a', [i], 1));
      const mixed = await Promise.allSettled(Array.from({ length: 64 }, (_, i) =>
        i % 4 === 0 ? failing(i) : db.execute<{ a: number }>('SELECT $1::int AS a', [i], 1)));
      mixed.forEach((r, i) => {
        if (i % 4 === 0) assert.ok(r.status === 'rejected' && sqlState(r.reason) === '22012', `query ${i} fails alone`);
        else assert.deepEqual(r.status === 'fulfilled' && r.value, [{ a: i }]);
      });
    });

    await t.test('migrations: ordered, recorded, idempotent; a failing one leaves nothing', async () => {
      assert.deepEqual(await migrate(database.pool, MIGRATIONS), ['0001_jobs', '0002_seed', '0003_state']);
      assert.deepEqual(await migrate(database.pool, MIGRATIONS), [], 'second run does nothing');
      assert.deepEqual(await db.execute('SELECT name, state FROM jobs ORDER BY id', [], 'all'),
        [{ name: 'first', state: 'queued' }, { name: 'second', state: 'queued' }]);
      const recorded = await db.execute<{ id: string }>('SELECT id FROM schema_migrations ORDER BY applied_at, id', [], 'all');
      assert.deepEqual(recorded.map((r) => r.id), ['0001_jobs', '0002_seed', '0003_state']);

      const more = [...MIGRATIONS, { id: '0004_more', sql: "INSERT INTO jobs (name) VALUES ('third')" }];
      assert.deepEqual(await migrate(database.pool, more), ['0004_more']);
      const broken = [...more, { id: '0005_broken', sql: 'CREATE TABLE half_done (x int); SELECT 1/0' }];
      await assert.rejects(migrate(database.pool, broken), /migration 0005_broken failed: division by zero/);
      assert.deepEqual(await db.execute("SELECT to_regclass('half_done') AS t", [], 1), [{ t: null }]);
      assert.deepEqual(await db.execute("SELECT id FROM schema_migrations WHERE id = '0005_broken'", [], 'all'), []);
      assert.deepEqual(await db.execute('SELECT count(*)::int AS n FROM jobs', [], 1), [{ n: 3 }]);

      await assert.rejects(migrate(database.pool, [MIGRATIONS[0]!, MIGRATIONS[0]!]), /duplicate migration id 0001_jobs/);
      // Another table keeps its own record.
      assert.deepEqual(await migrate(database.pool, [{ id: '0001_jobs', sql: 'CREATE TABLE other_jobs (id int)' }], { table: 'other_migrations' }), ['0001_jobs']);
    });

    await t.test('migrations: two pools migrating at once apply each migration exactly once', async () => {
      // A second "process": its own pool on the same database and schema.
      const other = await openDatabase({ url: database.url, schema: database.schema!, poolSize: 2, logger });
      t.after(() => other.close());
      const list: Migration[] = [
        { id: 'c1', sql: 'CREATE TABLE conc (id int PRIMARY KEY); SELECT pg_sleep(0.2)' },
        { id: 'c2', sql: 'INSERT INTO conc VALUES (1)' },
        { id: 'c3', sql: 'INSERT INTO conc VALUES (2)' },
      ];
      const [a, b] = await Promise.all([
        migrate(database.pool, list, { table: 'conc_migrations' }),
        migrate(other.pool, list, { table: 'conc_migrations' }),
      ]);
      assert.deepEqual([...a, ...b].sort(), ['c1', 'c2', 'c3'], `applied once in all: ${JSON.stringify({ a, b })}`);
      assert.deepEqual(await db.execute('SELECT id FROM conc ORDER BY id', [], 'all'), [{ id: 1 }, { id: 2 }]);
      assert.deepEqual(await migrate(other.pool, list, { table: 'conc_migrations' }), []);
    });

    await t.test('schema isolation: two schemas do not see each other\'s tables', async (t2) => {
      const second = await withTestSchema(t2, target);
      assert.ok(second);
      const db2 = new DbConnector(second.pool);
      assert.notEqual(second.schema, database.schema);
      await db.execute('CREATE TABLE same_name (v text)');
      await db2.execute('CREATE TABLE same_name (v text)');
      await db.execute("INSERT INTO same_name VALUES ('first schema')");
      await db2.execute("INSERT INTO same_name VALUES ('second schema')");
      assert.deepEqual(await db.execute('SELECT v FROM same_name', [], 'all'), [{ v: 'first schema' }]);
      assert.deepEqual(await db2.execute('SELECT v FROM same_name', [], 'all'), [{ v: 'second schema' }]);
      await assert.rejects(db2.execute('SELECT * FROM items', [], 'all'), (err: unknown) => sqlState(err) === '42P01');
      assert.deepEqual(await db2.execute('SELECT current_schema() AS s', [], 1), [{ s: second.schema }]);
      // Migrations are recorded per schema.
      assert.deepEqual(await migrate(second.pool, MIGRATIONS), ['0001_jobs', '0002_seed', '0003_state']);
    });
  });
}

test('pglite: a data directory persists across opens; close is idempotent; plain pg clients connect', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aide-pglite-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'pg');
  const first = await openDatabase({ dataDir, logger });
  assert.equal(first.embedded, true);
  assert.match(first.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
  const client = new pg.Client({ connectionString: first.url });
  await client.connect();
  await client.query('CREATE TABLE kept (v text)');
  await client.query("INSERT INTO kept VALUES ('still here')");
  await client.end();
  await first.close();
  await first.close();

  const second = await openDatabase({ dataDir, schema: 'app', logger });
  t.after(() => second.close());
  assert.deepEqual((await second.pool.query('SELECT v FROM public.kept')).rows, [{ v: 'still here' }]);
  assert.deepEqual((await second.pool.query('SELECT current_schema() AS s')).rows, [{ s: 'app' }]);
});

test('openDatabase: an unreachable URL fails fast without leaking the password', async () => {
  const started = Date.now();
  await assert.rejects(
    openDatabase({ url: 'postgres://u:secret@127.0.0.1:1/x', connectTimeoutMs: 2000, logger }),
    (err: unknown) => {
      assert.match((err as Error).message, /cannot open database postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x/);
      assert.doesNotMatch((err as Error).message, /secret/);
      return true;
    },
  );
  assert.ok(Date.now() - started < 5000);
  await assert.rejects(openDatabase({ url: 'postgres://127.0.0.1:1/x', poolSize: 0 }), /pool size/);
});

test('databaseOptions: [Database] settings, DATABASE_URL, empty = embedded', () => {
  const cfg = (env: NodeJS.ProcessEnv, text = '') => databaseOptions(Config.load({ text, env }));
  assert.deepEqual(cfg({}), { poolSize: 10 });
  assert.deepEqual(cfg({ DATABASE_URL: 'postgres://h/db' }), { url: 'postgres://h/db', poolSize: 10 });
  assert.deepEqual(
    cfg({ AIDE_DATABASE_POOL_SIZE: '3' }, '[Database]\nurl = postgres://f/db\nschema = aide\nembedded_dir = /data/pg\n'),
    { url: 'postgres://f/db', schema: 'aide', dataDir: '/data/pg', poolSize: 3 },
  );
  assert.equal(uniqueSchemaName().length, 14);
});

test('withDefaultUser: fills in the OS user only when a URL and the environment name none', () => {
  const os = withDefaultUser('postgres://127.0.0.1:5432/test', {});
  assert.match(os, /^postgres:\/\/[^@/]+@127\.0\.0\.1:5432\/test$/);
  assert.equal(withDefaultUser('postgres://me@h/db', {}), 'postgres://me@h/db');
  assert.equal(withDefaultUser('postgres://h/db', { USER: 'x' }), 'postgres://h/db');
  assert.equal(withDefaultUser('postgres://h/db', { PGUSER: 'x' }), 'postgres://h/db');
  assert.equal(withDefaultUser('postgres://h/db?user=u', {}), 'postgres://h/db?user=u');
  assert.equal(withDefaultUser('not a url', {}), 'not a url');
});

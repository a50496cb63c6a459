/**
 * Database targets for test suites: a real PostgreSQL when one answers, the
 * embedded PGlite always.
 *
 *   for (const target of await databaseTargets()) {
 *     test(`thing on ${target.name}`, async (t) => {
 *       const db = await withTestSchema(t, target);
 *       if (!db) return; // skipped: real Postgres is down
 *       ...
 *     });
 *   }
 *
 * Real PostgreSQL: env AIDE_TEST_DATABASE_URL, else postgres://127.0.0.1:5432/test.
 * When it does not answer within 1 s its suite is skipped with a
 * "skipped real-Postgres suite: <why>" line, or fails when
 * AIDE_TEST_REQUIRE_SERVERS=1 (CI with servers must not pass by skipping).
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { openDatabase, withDefaultUser, type Database } from '../../libs/db/index.js';
import { quoteIdent, redactUrl } from '../../libs/db/sql.js';
import { createLogger } from '../../libs/log.js';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://127.0.0.1:5432/test';
const PROBE_TIMEOUT_MS = 1000;
const quietLogger = createLogger('test-db', 'silent');

export interface DatabaseTarget {
  name: 'postgres' | 'pglite';
  /** Why this target cannot run here (real Postgres unreachable); undefined when it can. */
  unavailable?: string;
  /** Opens the target with `schema` created and on the search_path. */
  open(schema: string, opts?: { poolSize?: number }): Promise<Database>;
}

interface Probe {
  url: string;
  ok: boolean;
  reason?: string;
}

let probed: Promise<Probe> | undefined;

function probe(): Promise<Probe> {
  probed ??= (async () => {
    const url = withDefaultUser(process.env.AIDE_TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
    // A refused or reset connection may also surface as an 'error' event.
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return { url, ok: true };
    } catch (err) {
      return { url, ok: false, reason: `${redactUrl(url)} is unreachable: ${(err as Error).message}` };
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return probed;
}

/** The real PostgreSQL to test against, or undefined when none answers within 1 s. Probed once per process. */
export async function realPostgresUrl(): Promise<string | undefined> {
  const p = await probe();
  return p.ok ? p.url : undefined;
}

/** Whether suites must fail rather than skip when a server is missing. */
export function serversRequired(): boolean {
  return process.env.AIDE_TEST_REQUIRE_SERVERS === '1';
}

/** The targets every db suite runs on: real Postgres (maybe unavailable) and PGlite. */
export async function databaseTargets(): Promise<DatabaseTarget[]> {
  const p = await probe();
  const postgres: DatabaseTarget = {
    name: 'postgres',
    ...(p.ok ? {} : { unavailable: p.reason ?? 'unreachable' }),
    open: (schema, opts) => {
      if (!p.ok) return Promise.reject(new Error(`real PostgreSQL unavailable: ${p.reason}`));
      return openDatabase({ url: p.url, schema, poolSize: opts?.poolSize ?? 8, logger: quietLogger });
    },
  };
  const pglite: DatabaseTarget = {
    name: 'pglite',
    open: (schema, opts) => openDatabase({ schema, poolSize: opts?.poolSize ?? 8, logger: quietLogger }),
  };
  return [postgres, pglite];
}

/** A fresh schema name: t_ and 12 hex digits. */
export function uniqueSchemaName(prefix = 't'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/**
 * Skips (or, with AIDE_TEST_REQUIRE_SERVERS=1, fails) the test when the
 * target is unavailable. Returns true when the test may go on.
 */
export function requireTarget(t: TestContext, target: DatabaseTarget): boolean {
  if (target.unavailable === undefined) return true;
  if (serversRequired()) {
    throw new Error(`AIDE_TEST_REQUIRE_SERVERS=1 but the ${target.name} target is unavailable: ${target.unavailable}`);
  }
  const why = `skipped real-Postgres suite: ${target.unavailable}`;
  console.log(why);
  t.skip(why);
  return false;
}

/**
 * Opens the target on a new schema (t_<random>) that is dropped (CASCADE)
 * and closed after the test. Undefined when the test was skipped.
 */
export async function withTestSchema(
  t: TestContext,
  target: DatabaseTarget,
  opts?: { poolSize?: number },
): Promise<Database | undefined> {
  if (!requireTarget(t, target)) return undefined;
  const schema = uniqueSchemaName();
  const db = await target.open(schema, opts);
  t.after(async () => {
    try {
      await db.pool.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    } finally {
      await db.close();
    }
  });
  return db;
}

/**
 * Schema migrations: applied in the order given, each in its own transaction
 * together with its row in the migrations table, so a failed migration leaves
 * nothing behind and is retried next time. Running them again does nothing.
 *
 * Several processes may migrate at once: a session advisory lock (keyed on the
 * migrations table) serialises them on PostgreSQL, and every migration checks
 * its row again inside its transaction (which is what serialises them on the
 * embedded PGlite, whose connections share one session and so one lock).
 *
 * A migration's SQL may hold several statements; it must not manage
 * transactions itself (no BEGIN/COMMIT, no CREATE INDEX CONCURRENTLY).
 */
import type pg from 'pg';
import { quoteQualified } from './sql.js';

export interface Migration {
  /** Unique and stable: the row recorded once applied (e.g. '0001_jobs'). */
  id: string;
  sql: string;
}

export interface MigrateOptions {
  /** Table recording applied migrations, optionally schema-qualified (default 'schema_migrations'). */
  table?: string;
}

export const DEFAULT_MIGRATIONS_TABLE = 'schema_migrations';

/** Applies the migrations not yet recorded; returns the ids this call applied, in order. */
export async function migrate(pool: pg.Pool, migrations: readonly Migration[], opts: MigrateOptions = {}): Promise<string[]> {
  const seen = new Set<string>();
  for (const m of migrations) {
    if (typeof m.id !== 'string' || m.id === '') throw new Error('migration without an id');
    if (seen.has(m.id)) throw new Error(`duplicate migration id ${m.id}`);
    seen.add(m.id);
  }
  const tableName = opts.table ?? DEFAULT_MIGRATIONS_TABLE;
  const table = quoteQualified(tableName);

  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    // Key the lock on the table as resolved here, so migrations of different schemas do not wait on each other.
    const where = tableName.includes('.')
      ? tableName
      : `${(await client.query<{ s: string | null }>('SELECT current_schema() AS s')).rows[0]?.s ?? ''}.${tableName}`;
    const lockKey = `aide.migrate:${where}`;
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [lockKey]);
    try {
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${table} (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const done = new Set(
        (await client.query<{ id: string }>(`SELECT id FROM ${table}`)).rows.map((r) => r.id),
      );
      const applied: string[] = [];
      for (const m of migrations) {
        if (done.has(m.id)) continue;
        await client.query('BEGIN');
        try {
          const again = await client.query(`SELECT 1 FROM ${table} WHERE id = $1`, [m.id]);
          if ((again.rowCount ?? 0) > 0) {
            await client.query('ROLLBACK');
            continue;
          }
          await client.query(m.sql);
          await client.query(`INSERT INTO ${table} (id) VALUES ($1)`, [m.id]);
          await client.query('COMMIT');
          applied.push(m.id);
        } catch (err) {
          await client.query('ROLLBACK').catch((rollbackErr: Error) => { broken = rollbackErr; });
          throw new Error(`migration ${m.id} failed: ${(err as Error).message}`, { cause: err });
        }
      }
      return applied;
    } finally {
      if (!broken) {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [lockKey]).catch((err: Error) => { broken = err; });
      }
    }
  } finally {
    // A connection in an unknown state is destroyed rather than pooled (that also drops its lock).
    client.release(broken);
  }
}

/**
 * The seed's dbConnector: execute(sql, args, numReturn) over a pg Pool.
 *
 * Placeholders are node-postgres's: $1, $2, … (not psycopg2's %s), e.g.
 *   db.execute('SELECT * FROM image WHERE project = $1 LIMIT $2', [project, 10], 'all')
 *
 * numReturn:
 *   'all'         → every row
 *   n (integer)   → at most the first n rows (an array, as in the seed)
 *   'one'         → same as 1
 *   null / none   → undefined: the statement is run for its effect only
 *
 * Unlike the seed, errors are not swallowed: a failed statement rejects.
 */
import type pg from 'pg';
import type { Database } from './database.js';

export type NumReturn = 'all' | 'one' | number | null;
export type Row = Record<string, unknown>;
type Queryable = pg.Pool | pg.PoolClient;

function rowLimit(numReturn: NumReturn | undefined): number | 'all' | undefined {
  if (numReturn === undefined || numReturn === null) return undefined;
  if (numReturn === 'all') return 'all';
  if (numReturn === 'one') return 1;
  if (typeof numReturn === 'number' && Number.isInteger(numReturn) && numReturn >= 0) return numReturn;
  throw new TypeError(`numReturn must be 'all', 'one', a non-negative integer or null; got ${JSON.stringify(numReturn)}`);
}

export class DbConnector {
  private readonly target: Queryable;
  private readonly depth: number;

  /** On a Database or a pool; transaction() hands its callback a connector bound to the transaction's client. */
  constructor(target: Database | pg.Pool, internal?: { client: pg.PoolClient; depth: number }) {
    this.target = internal?.client ?? ('query' in target ? target : target.pool);
    this.depth = internal?.depth ?? 0;
  }

  /** Whether this connector runs inside a transaction (it was handed out by transaction()). */
  get inTransaction(): boolean {
    return this.depth > 0;
  }

  execute<T extends Row = Row>(sql: string, args: readonly unknown[] | null | undefined, numReturn: 'all' | 'one' | number): Promise<T[]>;
  execute(sql: string, args?: readonly unknown[] | null, numReturn?: null): Promise<undefined>;
  execute<T extends Row = Row>(sql: string, args?: readonly unknown[] | null, numReturn?: NumReturn): Promise<T[] | undefined>;
  async execute<T extends Row = Row>(sql: string, args?: readonly unknown[] | null, numReturn?: NumReturn): Promise<T[] | undefined> {
    const limit = rowLimit(numReturn);
    const result: pg.QueryResult<T> | pg.QueryResult<T>[] = await this.target.query<T>(sql, args ? [...args] : undefined);
    if (limit === undefined) return undefined;
    // Several statements in one string (no args) give one result each: the last one's rows count.
    const last = Array.isArray(result) ? result[result.length - 1] : result;
    const rows = last?.rows ?? [];
    return limit === 'all' ? rows : rows.slice(0, limit);
  }

  /**
   * Runs fn in a transaction: COMMIT when it resolves, ROLLBACK (and rethrow)
   * when it throws. fn gets the transaction's pg client and a connector bound
   * to it; everything in the transaction must go through one of those (see the
   * embedded-database caveat in database.ts). Nested calls on the bound
   * connector use savepoints.
   */
  async transaction<T>(fn: (client: pg.PoolClient, db: DbConnector) => Promise<T>): Promise<T> {
    if (this.depth > 0) return this.savepoint(fn);
    const pool = this.target as pg.Pool;
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const value = await fn(client, new DbConnector(pool, { client, depth: 1 }));
        await client.query('COMMIT');
        return value;
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackErr: Error) => { broken = rollbackErr; });
        throw err;
      }
    } finally {
      client.release(broken);
    }
  }

  private async savepoint<T>(fn: (client: pg.PoolClient, db: DbConnector) => Promise<T>): Promise<T> {
    const client = this.target as pg.PoolClient;
    const name = `aide_sp_${this.depth}`;
    await client.query(`SAVEPOINT ${name}`);
    try {
      const value = await fn(client, new DbConnector(client as unknown as pg.Pool, { client, depth: this.depth + 1 }));
      await client.query(`RELEASE SAVEPOINT ${name}`);
      return value;
    } catch (err) {
      await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      await client.query(`RELEASE SAVEPOINT ${name}`);
      throw err;
    }
  }
}

import pg from 'pg';
import { DbConnector, sqlState } from '../../../libs/db/index.js';
import { alreadyExists } from '../../../libs/errors.js';

/** What store functions run on: the pool, or the client of a transaction the caller holds. */
export type Db = pg.Pool | pg.PoolClient;

/**
 * Runs fn in a transaction: a new one on a pool; on a client, inside the
 * caller's (embedded PGlite has one session: never touch the pool meanwhile).
 */
export function inTransaction<T>(db: Db, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return db instanceof pg.Pool ? new DbConnector(db).transaction((client) => fn(client)) : fn(db);
}

/** Runs a write, turning a unique-key violation into ALREADY_EXISTS for `what`. */
export async function unique<T>(what: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (sqlState(err) === '23505') throw alreadyExists(what);
    throw err;
  }
}

/** int8 columns arrive as strings (they may exceed 2^53); ours stay far below. */
export const int = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

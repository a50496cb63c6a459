/**
 * The mesh's database: PostgreSQL through node-postgres, or (no URL) an
 * embedded PGlite served on a local TCP port by @electric-sql/pglite-socket,
 * with the same pg Pool in front, so the same SQL runs on both.
 *
 * Embedded caveats (PGlite is one Postgres session; the socket server
 * multiplexes every connection onto it):
 *   - statements run one at a time, and while a connection is inside a
 *     transaction the other connections wait until it commits or rolls back:
 *     code inside a transaction must use the transaction's client, not the
 *     pool, or it deadlocks;
 *   - session state (SET, search_path, advisory locks, temp tables) is shared
 *     by every connection: one embedded database serves one schema;
 *   - a data directory must be used by one process at a time;
 *   - the pool holds one connection: the socket server interleaves the
 *     extended-protocol messages of concurrent connections, and a parameterized
 *     query can then lose its statement ("unnamed prepared statement does not
 *     exist"), so queries queue in the pool instead. Never query the pool while
 *     holding one of its clients.
 */
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import pg from 'pg';
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { createLogger, type Logger } from '../log.js';
import { createInMemoryPGlite } from './pglite-template.js';
import { quoteIdent, redactUrl, sqlState } from './sql.js';

export interface OpenDatabaseOptions {
  /** postgres://… URL; without one an embedded PGlite is started. */
  url?: string;
  /** Created if missing and set as search_path on every pooled connection. */
  schema?: string;
  /** Embedded only: PGlite's data directory; unset = in memory. */
  dataDir?: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** How long to wait for a connection before failing (default 10 000 ms). */
  connectTimeoutMs?: number;
  /** Where errors of idle pooled connections are logged (default: a 'db' logger). */
  logger?: Logger;
}

export interface Database {
  pool: pg.Pool;
  /** Connection URL of the pool (the embedded server's local URL when embedded). */
  url: string;
  embedded: boolean;
  schema?: string;
  /** Ends the pool and stops the embedded server; safe to call twice. */
  close(): Promise<void>;
}

interface Embedded {
  url: string;
  stop(): Promise<void>;
}

/** Connections the embedded server accepts: the pool plus room for extra pools on `url`. */
const EMBEDDED_MAX_CONNECTIONS = 256;

async function startEmbedded(dataDir: string | undefined): Promise<Embedded> {
  // Loaded lazily: services on a real PostgreSQL never load the wasm build.
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-socket'),
  ]);
  // A plain path is made absolute (PGlite also takes memory://, idb://, … as they are).
  const dir = dataDir && !dataDir.includes('://') ? resolve(dataDir) : dataDir;
  const lite: PGlite = dir ? await PGlite.create({ dataDir: dir }) : await createInMemoryPGlite(PGlite);
  let server: PGLiteSocketServer | undefined;
  try {
    // One connection by default: a pg Pool would see "Connection terminated
    // unexpectedly". maxConnections turns on the server's multiplexer.
    server = new PGLiteSocketServer({ db: lite, host: '127.0.0.1', port: 0, maxConnections: EMBEDDED_MAX_CONNECTIONS });
    await server.start();
  } catch (err) {
    await lite.close().catch(() => undefined);
    throw err;
  }
  const port = server.getServerConn().split(':').pop();
  const started = server;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await started.stop();
      await lite.close();
    },
  };
}

/**
 * libpq falls back to the OS user when a URL names none; node-postgres uses
 * env PGUSER / USER and sends no user at all when both are unset (containers),
 * which the server refuses. Fill in the OS user in that case.
 */
export function withDefaultUser(url: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.PGUSER || env.USER) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol) || parsed.username || parsed.searchParams.has('user')) return url;
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    return url;
  }
  parsed.username = encodeURIComponent(user);
  return parsed.toString();
}

/** Creates `schema` unless it exists; tolerates another process creating it at the same time. */
async function ensureSchema(pool: pg.Pool, schema: string): Promise<void> {
  try {
    await pool.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
  } catch (err) {
    // Two concurrent IF NOT EXISTS can still collide on the catalog's unique index.
    const code = sqlState(err);
    if (code !== '23505' && code !== '42P06') throw err;
  }
}

/**
 * Opens the database: a pg Pool on `url`, or on an embedded PGlite when no
 * URL is given. Checks the connection (and creates `schema`) before returning,
 * so a wrong URL fails here rather than at the first query.
 */
export async function openDatabase(opts: OpenDatabaseOptions = {}): Promise<Database> {
  const schema = opts.schema || undefined;
  const poolSize = opts.poolSize ?? 10;
  if (!Number.isInteger(poolSize) || poolSize < 1) throw new Error(`database pool size must be a positive integer, got ${poolSize}`);
  const logger = opts.logger ?? createLogger('db');

  const embedded = opts.url ? undefined : await startEmbedded(opts.dataDir || undefined);
  const url = opts.url ? withDefaultUser(opts.url) : embedded!.url;
  const setPath = schema === undefined ? undefined : `SET search_path TO ${quoteIdent(schema)}`;

  const pool = new pg.Pool({
    connectionString: url,
    max: embedded ? 1 : poolSize,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
    // Awaited by pg-pool before the client is handed out.
    onConnect: setPath === undefined ? undefined : async (client: pg.ClientBase) => { await client.query(setPath); },
  });
  // Without a listener an idle connection's error (server restart) would crash the process.
  pool.on('error', (err) => logger.warn({ err, url: redactUrl(url) }, 'idle database connection failed'));

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        await pool.end();
      } finally {
        await embedded?.stop();
      }
    })();
    return closing;
  };

  try {
    if (schema !== undefined) await ensureSchema(pool, schema);
    else await pool.query('SELECT 1');
  } catch (err) {
    await close().catch(() => undefined);
    throw new Error(`cannot open database ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
  }

  return { pool, url, embedded: embedded !== undefined, ...(schema === undefined ? {} : { schema }), close };
}

/** What openDatabaseFromConfig reads: Config, or anything with its getProperty. */
export interface DatabaseSettingsSource {
  getProperty<F>(section: string, key: string, type: 'str', fallback: F): string | F;
  getProperty<F>(section: string, key: string, type: 'int', fallback: F): number | F;
}

/** [Database] url (or env DATABASE_URL), schema, pool_size, embedded_dir as openDatabase options. */
export function databaseOptions(config: DatabaseSettingsSource): OpenDatabaseOptions {
  const url = config.getProperty('Database', 'url', 'str', '');
  const schema = config.getProperty('Database', 'schema', 'str', '');
  const dataDir = config.getProperty('Database', 'embedded_dir', 'str', '');
  return {
    ...(url ? { url } : {}),
    ...(schema ? { schema } : {}),
    ...(dataDir ? { dataDir } : {}),
    poolSize: config.getProperty('Database', 'pool_size', 'int', 10),
  };
}

/**
 * Replica pools kept warm between calls: starting one costs each worker
 * about a CPU-second (tfjs and the network module loaded, the backend set
 * up), so train() then inference() on the same architecture, or successive
 * jobs, reuse the pool instead. Replicas hold no state between requests, so
 * reuse cannot leak one call into the next. An idle pool lets the process
 * exit, is closed after KEEP_MS, and at most MAX_IDLE are kept (the least
 * recently used goes first).
 */
import { ReplicaPool, type PoolOptions } from './replica-pool.js';

const KEEP_MS = 60_000;
const MAX_IDLE = 2;

const idle = new Map<string, { pool: ReplicaPool; timer: NodeJS.Timeout }>();

const keyOf = ({ networkModule, arch, threads = 0, backend = 'auto' }: PoolOptions) => JSON.stringify([networkModule.href, arch, threads, backend]);

function take(key: string): ReplicaPool | undefined {
  const entry = idle.get(key);
  if (!entry) return undefined;
  idle.delete(key);
  clearTimeout(entry.timer);
  if (entry.pool.healthy) return entry.pool;
  void entry.pool.close();
  return undefined;
}

function park(key: string, pool: ReplicaPool): void {
  if (!pool.healthy) {
    void pool.close();
    return;
  }
  pool.hold(false);
  take(key)?.close(); // a pool of the same kind parked meanwhile: one is enough
  idle.set(key, { pool, timer: setTimeout(() => { idle.delete(key); void pool.close(); }, KEEP_MS).unref() });
  for (const [oldest] of idle) {
    if (idle.size <= MAX_IDLE) break;
    void take(oldest)?.close();
  }
}

/** Runs `use` on a warm pool of this kind, or a fresh one; the pool is kept for reuse afterwards. */
export async function withPool<T>(options: PoolOptions, use: (pool: ReplicaPool) => Promise<T>): Promise<T> {
  const key = keyOf(options);
  const pool = take(key) ?? (await ReplicaPool.start(options));
  pool.hold(true);
  try {
    return await use(pool);
  } finally {
    park(key, pool);
  }
}

/** withPool for a stream: the pool is held while the consumer reads `use`'s items, and kept for reuse once it stops. */
export async function* withPoolStream<T>(options: PoolOptions, use: (pool: ReplicaPool) => AsyncIterable<T>): AsyncGenerator<T> {
  const key = keyOf(options);
  const pool = take(key) ?? (await ReplicaPool.start(options));
  pool.hold(true);
  try {
    yield* use(pool);
  } finally {
    park(key, pool);
  }
}

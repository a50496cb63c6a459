import { trace } from '@opentelemetry/api';
import type { BlobFolder } from '../../../libs/blob/index.js';
import { cancelled, isAideError, unavailable } from '../../../libs/errors.js';
import type { Logger } from '../../../libs/log.js';
import type { WorkerLease, WorkerPool } from './worker-pool.js';

export interface DispatchOptions {
  pool: WorkerPool;
  /** Only workers that have this model library. */
  library?: string;
  /** Workers tried before the call fails (a dead worker's share moves to another). */
  maxAttempts: number;
  signal: AbortSignal;
  logger: Logger;
  /** Told once when no worker is free, so the job can say why it waits. */
  onWait?: (why: string) => void;
  /** What is dispatched, for messages ("shard 2/3"). */
  what: string;
  /** The controller's state folder: a worker that shares it gets and returns states by file name. */
  stateFolder?: BlobFolder;
}

/** The state folder, if the leased worker shares it (its capabilities report the folder's id). */
export const sharedFolder = (lease: WorkerLease, opts: Pick<DispatchOptions, 'stateFolder'>): BlobFolder | undefined =>
  (opts.stateFolder && lease.stateFolderId === opts.stateFolder.id ? opts.stateFolder : undefined);

/**
 * Runs one call on a worker. When it fails because the worker went away
 * (unreachable afterwards, or UNAVAILABLE), the call is retried on another
 * worker, up to maxAttempts; a failure of the model itself (the worker still
 * answers) is final.
 */
export async function onWorker<T>(opts: DispatchOptions, call: (lease: WorkerLease, attempt: number) => Promise<T>): Promise<T> {
  let last: unknown;
  // The span of the phase dispatched (a shard, the averaging) says where it ran and what was retried.
  const span = trace.getActiveSpan();
  for (let attempt = 1; attempt <= opts.maxAttempts; attempt++) {
    const lease = await opts.pool.acquire({ library: opts.library, signal: opts.signal, onWait: opts.onWait });
    span?.setAttributes({ 'aide.worker': lease.address, 'aide.attempt': attempt });
    try {
      return await call(lease, attempt);
    } catch (err) {
      if (opts.signal.aborted) throw cancelled(`${opts.what} cancelled`);
      const workerAlive = await opts.pool.suspect(lease.address);
      if (workerAlive && !isAideError(err, 'UNAVAILABLE')) throw err;
      last = err;
      span?.addEvent('worker lost', { 'aide.worker': lease.address, 'aide.attempt': attempt, 'exception.message': (err as Error).message });
      opts.logger.warn({ worker: lease.address, attempt, what: opts.what, err: (err as Error).message }, 'worker lost; retrying elsewhere');
    } finally {
      lease.release();
    }
  }
  throw unavailable(`${opts.what} failed on ${opts.maxAttempts} worker attempts: ${(last as Error)?.message ?? 'no worker'}`);
}

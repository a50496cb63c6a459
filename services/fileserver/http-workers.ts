/**
 * [FileServer] http_processes > 1: that many processes (http-worker.ts) share
 * the HTTP port through node:cluster, the service process accepting each
 * connection and handing it to them in turn, so serving files is not held to
 * one event loop. (Node 20's listen has no SO_REUSEPORT option.) A process
 * that dies is replaced.
 */
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../libs/log.js';

/**
 * The conversation with an HTTP process: it asks for its settings once it
 * listens for messages (one sent earlier would be lost), and is told at the
 * end to drain.
 */
export type FromHttpWorker = { type: 'settings?' };
export type ToHttpWorker = { type: 'settings'; ini: string } | { type: 'shutdown'; deadlineMs: number };

export interface HttpWorkers {
  port: number;
  /** Lets every process finish its responses until the deadline, then stops them. */
  close(deadlineMs: number): Promise<void>;
}

// Same extension as this module: .ts under tsx, .js if ever compiled.
const here = fileURLToPath(import.meta.url);
const WORKER_ENTRY = path.join(path.dirname(here), `http-worker${path.extname(here)}`);
const RESTART_DELAY_MS = 1000;
// Loading the code and opening the database; beyond this a process counts as failed.
const START_TIMEOUT_MS = 60_000;
// After the drain deadline: time to close the database pool and exit.
const EXIT_GRACE_MS = 5000;

export async function startHttpWorkers(opts: {
  count: number;
  /** The service's settings (settingsSnapshot). */
  settings: string;
  logger: Logger;
}): Promise<HttpWorkers> {
  const { logger } = opts;
  // The workers run under the same loader flags (tsx) as this process.
  cluster.setupPrimary({ exec: WORKER_ENTRY, args: [], execArgv: process.execArgv });
  const workers = new Set<Worker>();
  let closing = false;

  /** A new process; resolves with the port once it listens, rejects if it exits first. */
  const start = (): Promise<number> => new Promise((resolve, reject) => {
    const worker = cluster.fork();
    workers.add(worker);
    let listening = false;
    const stuck = setTimeout(() => worker.process.kill('SIGKILL'), START_TIMEOUT_MS);
    worker.on('message', (message: FromHttpWorker) => {
      if (message.type === 'settings?') worker.send({ type: 'settings', ini: opts.settings } satisfies ToHttpWorker);
    });
    worker.once('listening', (address) => {
      listening = true;
      clearTimeout(stuck);
      resolve(address.port);
    });
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      clearTimeout(stuck);
      if (!listening) {
        reject(new Error(`an HTTP process exited (${signal ?? code}) before it listened`));
        return;
      }
      if (closing) return;
      logger.error({ pid: worker.process.pid, code, signal }, 'HTTP process died; starting another');
      setTimeout(() => {
        if (!closing) start().catch((err: unknown) => logger.error({ err }, 'HTTP process failed to restart'));
      }, RESTART_DELAY_MS).unref();
    });
  });

  const close = async (deadlineMs: number): Promise<void> => {
    closing = true;
    await Promise.all([...workers].map(async (worker) => {
      const exited = once(worker, 'exit');
      if (worker.isConnected()) worker.send({ type: 'shutdown', deadlineMs } satisfies ToHttpWorker);
      const kill = setTimeout(() => worker.process.kill('SIGKILL'), deadlineMs + EXIT_GRACE_MS);
      await exited;
      clearTimeout(kill);
    }));
  };

  const started = await Promise.allSettled(Array.from({ length: opts.count }, start));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await close(0);
    throw failed.reason;
  }
  return { port: (started[0] as PromiseFulfilledResult<number>).value, close };
}

/**
 * Starts a worker thread on a module that may be TypeScript. tsx's loader
 * (node --import tsx) does not reach worker threads in Node 20, so a .ts
 * module is started through a tiny ESM bootstrap that registers tsx in the
 * worker first; a .js module starts directly.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function spawnWorker(module: URL, options: WorkerOptions): Worker {
  if (!module.pathname.endsWith('.ts')) return new Worker(module, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import { register } from ${JSON.stringify(tsx)}; register(); await import(${JSON.stringify(module.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), options);
}

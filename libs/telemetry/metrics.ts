/**
 * The mesh's Prometheus metrics, one registry per process (the embedded demo
 * runs every service in one process and serves them together). Names follow
 * Prometheus conventions: `_total` counters, `_seconds` and `_bytes` units.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const registry = new Registry();

export const jobsTotal = new Counter({
  name: 'aide_jobs_total', help: 'Jobs this controller ran to an end, by kind and final state',
  labelNames: ['kind', 'state'] as const, registers: [registry],
});

export const jobsRunning = new Gauge({
  name: 'aide_jobs_running', help: 'Jobs this controller is running now, by kind',
  labelNames: ['kind'] as const, registers: [registry],
});

export const jobDuration = new Histogram({
  name: 'aide_job_duration_seconds', help: 'Wall time of a job from claim to end, by kind and final state',
  labelNames: ['kind', 'state'] as const, registers: [registry],
  buckets: [0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600],
});

export const modelStateBytes = new Counter({
  name: 'aide_model_state_bytes_total', help: 'Bytes of model state sent to and received from workers, by phase',
  labelNames: ['direction', 'phase'] as const, registers: [registry],
});

export const rpcRequests = new Counter({
  name: 'aide_rpc_server_requests_total', help: 'gRPC calls served, by method and status code',
  labelNames: ['method', 'code'] as const, registers: [registry],
});

export const rpcDuration = new Histogram({
  name: 'aide_rpc_server_duration_seconds', help: 'Time to serve a gRPC call (streams: until their end), by method',
  labelNames: ['method'] as const, registers: [registry],
  buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 2, 10, 60, 600],
});

export const fileServerReadBytes = new Counter({
  name: 'aide_fileserver_read_bytes_total', help: 'Bytes the FileServer sent to gRPC readers, by method',
  labelNames: ['method'] as const, registers: [registry],
});

/** Job slots of the workers in this process, read when Prometheus scrapes. */
const workerSlots = new Map<string, { readonly running: number; readonly max: number }>();

export const workerBusyRatio = new Gauge({
  name: 'aide_worker_busy_ratio', help: 'Share of a worker\'s job slots in use (running / max_concurrent_jobs)',
  labelNames: ['worker'] as const, registers: [registry],
  collect() {
    this.reset(); // a worker that stopped leaves no stale series
    for (const [worker, slots] of workerSlots) this.set({ worker }, slots.max > 0 ? slots.running / slots.max : 0);
  },
});

/** Reports a worker's slots as aide_worker_busy_ratio until the returned function is called. */
export function watchWorkerSlots(worker: string, slots: { readonly running: number; readonly max: number }): () => void {
  workerSlots.set(worker, slots);
  return () => { workerSlots.delete(worker); };
}

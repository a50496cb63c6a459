import type { BusSubscription, EventBus, PublishOptions, WatchOptions } from '../bus/bus.js';
import type { ProgressEvent } from '../gen/aide/v1/common.js';
import { traceHeaders } from './trace-headers.js';

/**
 * The bus as one job's publisher sees it: every event it publishes carries the
 * trace context that was active when the job made it, so a watcher can link a
 * progress event to the job's trace. Watching and closing pass through.
 */
export function tracedBus(bus: EventBus): EventBus {
  const headers = traceHeaders();
  return {
    publish: (event: ProgressEvent, opts: PublishOptions = {}) => bus.publish(event, { ...opts, headers: { ...headers, ...opts.headers } }),
    watch: (project: string, jobId: string, opts?: WatchOptions) => bus.watch(project, jobId, opts),
    subscribe: (project: string, opts?: WatchOptions): BusSubscription => bus.subscribe(project, opts),
    close: () => bus.close(),
  };
}

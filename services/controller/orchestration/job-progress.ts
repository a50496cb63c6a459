import type pg from 'pg';
import type { EventBus } from '../../../libs/bus/index.js';
import type { JobState as ProtoJobState, ProgressEvent } from '../../../libs/gen/aide/v1/common.js';
import type { Logger } from '../../../libs/log.js';
import { progressReporter, type ProgressReporter } from '../../../libs/progress/reporter.js';
import { appendJobEvent, jobEvents } from '../store/job-events.js';
import { recordProgress } from '../store/jobs.js';
import { jobEventFromProto } from '../wire/job.js';

export const CONTROLLER_WORKER_ID = 'controller';

/**
 * Progress of one controller-level job: throttled events to the bus (for
 * watchers), to job_events (for replay) and to the job row. Sequence numbers
 * continue after events a previous run of the job persisted, so a watcher's
 * sequence stays ordered across a controller restart.
 */
export async function jobProgress(opts: { db: pg.Pool; bus: EventBus; logger: Logger; jobId: string; project: string }): Promise<ProgressReporter & { flushed(): Promise<void> }> {
  const previous = await jobEvents(opts.db, opts.jobId);
  const offset = previous.at(-1)?.seq ?? 0;
  let chain = Promise.resolve();
  const reporter = progressReporter({
    jobId: opts.jobId, project: opts.project, workerId: CONTROLLER_WORKER_ID,
    emit: (event: ProgressEvent) => {
      const e = { ...event, seq: event.seq + offset };
      chain = chain.then(async () => {
        const persisted = jobEventFromProto(e);
        if (persisted) await appendJobEvent(opts.db, opts.jobId, persisted);
        await recordProgress(opts.db, opts.jobId, { done: e.done, total: e.total, message: e.message });
        await opts.bus.publish(e);
      }).catch((err: unknown) => opts.logger.warn({ err, jobId: opts.jobId }, 'job progress not recorded'));
    },
  });
  return { ...reporter, flushed: () => chain };
}

/** Sums progress reported by K parts (shards, averaging) into one done/total; the message names the part ("shard 1/2, …"). */
export function partsProgress(update: (done: number, total: number, message: string) => void) {
  const done = new Map<number, number>();
  const total = new Map<number, number>();
  return (part: number, label: string, e: Pick<ProgressEvent, 'done' | 'total' | 'message'> & { state: ProtoJobState }) => {
    done.set(part, e.done);
    total.set(part, e.total);
    const sum = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);
    update(sum(done), sum(total), `${label}, ${e.message}`);
  };
}

import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { dropSuperseded, type ProgressPublisher } from '../../../libs/bus/index.js';
import type { JobState as ProtoJobState, ProgressEvent } from '../../../libs/gen/aide/v1/common.js';
import type { Logger } from '../../../libs/log.js';
import { monotoneProgress } from '../../../libs/progress/monotone.js';
import { progressReporter, type ProgressReporter } from '../../../libs/progress/reporter.js';
import { traceHeaders } from '../../../libs/telemetry/trace-headers.js';
import { appendJobEvents, jobEvents } from '../store/job-events.js';
import { recordProgress } from '../store/jobs.js';
import { jobEventFromProto } from '../wire/job.js';

export const CONTROLLER_WORKER_ID = 'controller';

/** Events waiting for the database beyond which superseded ones are dropped (it fell far behind). */
const MAX_UNWRITTEN = 256;
/** Tries of one batch's writes before its events are given up (loudly). */
const WRITE_ATTEMPTS = 3;

/**
 * Progress of one controller-level job: throttled events to the bus (for
 * watchers, fire-and-forget through the publisher's queue) and to job_events
 * (for replay, and for watchers while the bus is down) and the job row. Neither
 * waits on the other, and the job waits on neither. Sequence numbers continue
 * after events a previous run of the job persisted, and its bar goes on from
 * where that run left it, so a watcher's sequence stays ordered (and its bar
 * does not go back) across a controller restart. `flushed()` resolves once the
 * database has every event reported so far.
 */
export async function jobProgress(opts: { db: pg.Pool; publisher: ProgressPublisher; logger: Logger; jobId: string; project: string }): Promise<ProgressReporter & { flushed(): Promise<void> }> {
  const last = (await jobEvents(opts.db, opts.jobId)).at(-1);
  const offset = last?.seq ?? 0;
  // Taken inside the job's span: its events on the bus link to the job's trace.
  const headers = traceHeaders();
  const log = eventLog(opts);
  const reporter = progressReporter({
    jobId: opts.jobId, project: opts.project, workerId: CONTROLLER_WORKER_ID, resumeFrom: last,
    emit: (event: ProgressEvent) => {
      const e = { ...event, seq: event.seq + offset };
      log.add(e);
      opts.publisher.publish(e, { headers });
    },
  });
  return { ...reporter, flushed: log.flushed };
}

/**
 * Writes a job's events to job_events and its latest done/total to the job
 * row: what arrives while a write runs goes in the next one (two statements a
 * batch, not a chain of writes per event).
 */
function eventLog(opts: { db: pg.Pool; logger: Logger; jobId: string }): { add(e: ProgressEvent): void; flushed(): Promise<void> } {
  const unwritten: ProgressEvent[] = [];
  let writing: Promise<void> | undefined;
  const write = async (): Promise<void> => {
    while (unwritten.length > 0) {
      const batch = unwritten.splice(0);
      const last = batch.at(-1)!;
      for (let attempt = 1; ; attempt++) {
        try {
          // Idempotent (a repeated seq is ignored), so a retry after a lost answer is safe.
          await appendJobEvents(opts.db, opts.jobId, batch.flatMap((e) => jobEventFromProto(e) ?? []));
          await recordProgress(opts.db, opts.jobId, { done: last.done, total: last.total, message: last.message });
          break;
        } catch (err) {
          if (attempt === WRITE_ATTEMPTS) {
            opts.logger.error({ err, jobId: opts.jobId, events: batch.length }, 'job progress not recorded');
            break;
          }
          await sleep(100 * attempt);
        }
      }
    }
    writing = undefined;
  };
  return {
    add(e) {
      unwritten.push(e);
      dropSuperseded(unwritten, MAX_UNWRITTEN, (x) => x);
      writing ??= write();
    },
    flushed: () => writing ?? Promise.resolve(),
  };
}

/**
 * Sums progress reported by K parts (shards, averaging) into one done/total;
 * the message names the part ("shard 1/2, …"). The sum does not go back: not
 * when a part is retried from the start on another worker (each part's own
 * bar holds), nor when a part reports for the first time (its total joins).
 */
export function partsProgress(update: (done: number, total: number, message: string) => void) {
  const parts = new Map<number, { done: number; total: number; forward: ReturnType<typeof monotoneProgress> }>();
  const overall = monotoneProgress();
  return (part: number, label: string, e: Pick<ProgressEvent, 'done' | 'total' | 'message'> & { state: ProtoJobState }) => {
    let p = parts.get(part);
    if (!p) parts.set(part, (p = { done: 0, total: 0, forward: monotoneProgress() }));
    Object.assign(p, p.forward(e.done, e.total));
    let done = 0;
    let total = 0;
    for (const q of parts.values()) { done += q.done; total += q.total; }
    ({ done, total } = overall(done, total));
    update(done, total, `${label}, ${e.message}`);
  };
}

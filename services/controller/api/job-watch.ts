/** WatchJob: a job's events, backlog then live, ending with the job. */
import { setTimeout as sleep } from 'node:timers/promises';
import { isTerminalState, type EventBus } from '../../../libs/bus/index.js';
import { Channel } from '../../../libs/bus/channel.js';
import { isAideError } from '../../../libs/errors.js';
import type { ProgressEvent } from '../../../libs/gen/aide/v1/common.js';
import { TERMINAL_JOB_STATES, type Job } from '../domain.js';
import type { Db } from '../store/db.js';
import { jobEvents } from '../store/job-events.js';
import { getJob } from '../store/jobs.js';
import { jobEventToProto, jobStateToProto } from '../wire/job.js';

export interface WatchTiming {
  /** How often the event log is read while the bus is failing. */
  pollMs: number;
  /** A bus silent this long (NATS gone, not yet noticed) is backed by a read of the event log. */
  quietMs: number;
  /** Pause before following the bus again after it failed. */
  busRetryMs: number;
}

const DEFAULT_TIMING: WatchTiming = { pollMs: 500, quietMs: 1000, busRetryMs: 2000 };

/** The job row as its last event: what a watcher of a finished job sees when that event was not (yet) kept. */
const finalEvent = (job: Job): ProgressEvent => ({
  jobId: job.id, project: job.project, workerId: job.worker, state: jobStateToProto(job.state), modelState: '',
  message: job.error || job.message, done: job.done, total: job.total, time: job.finishedAt ?? job.createdAt, seq: 0,
});

/**
 * A running or queued job is followed on the bus, backed by its event log in
 * the database (see followJob). A finished one is replayed from the database:
 * the bus may have lost it (an in-process bus restarts empty), and waiting on
 * it then would never end.
 */
export async function* watchJob(db: Db, bus: EventBus, job: Job, signal: AbortSignal, timing = DEFAULT_TIMING): AsyncGenerator<ProgressEvent> {
  if (!TERMINAL_JOB_STATES.has(job.state)) {
    yield* followJob(db, bus, job, signal, timing);
    return;
  }
  const events = await jobEvents(db, job.id);
  for (const e of events) yield jobEventToProto(job.project, job.id, e);
  // The job row turns terminal a moment before its last event is stored; a watcher
  // arriving in between (or of a job whose events were not kept) still sees the end.
  const last = events.at(-1);
  if (!last || !TERMINAL_JOB_STATES.has(last.state)) yield { ...finalEvent(job), seq: (last?.seq ?? 0) + 1 };
}

/**
 * Events from two sources, in seq order without duplicates, until the job's
 * terminal event: the bus (live, low latency) and, whenever the bus fails or
 * falls silent, the job_events log the controller writes without waiting on
 * the bus. A failed bus is followed again after `busRetryMs` (its backlog
 * replays; what was already sent is skipped), so a NATS outage neither ends
 * nor silences the watch. Sequence numbers a coalescing publisher left out
 * are simply not seen.
 */
async function* followJob(db: Db, bus: EventBus, job: Job, signal: AbortSignal, timing: WatchTiming): AsyncGenerator<ProgressEvent> {
  const stop = new AbortController();
  const inbox = new Channel<ProgressEvent>();
  const onAbort = (): void => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  stop.signal.addEventListener('abort', () => inbox.end(), { once: true });
  if (signal.aborted) stop.abort();
  let lastSeq = 0;
  let busFailing = false;
  let heardSincePoll = false;

  const followBus = async (): Promise<void> => {
    while (!stop.signal.aborted) {
      try {
        for await (const { event } of bus.watch(job.project, job.id, { signal: stop.signal })) {
          busFailing = false;
          heardSincePoll = true;
          inbox.push(event);
        }
      } catch {
        // NATS unreachable, consumer lost: the event log carries the watch meanwhile.
      }
      busFailing = true;
      await sleep(timing.busRetryMs, undefined, { signal: stop.signal }).catch(() => {});
    }
  };

  const readLog = async (): Promise<void> => {
    let rowEnded = false;
    while (!stop.signal.aborted) {
      await sleep(busFailing ? timing.pollMs : timing.quietMs, undefined, { signal: stop.signal }).catch(() => {});
      if (stop.signal.aborted) return;
      if (!busFailing && heardSincePoll) { heardSincePoll = false; continue; }
      try {
        const events = await jobEvents(db, job.id, lastSeq);
        for (const e of events) inbox.push(jobEventToProto(job.project, job.id, e));
        if (events.some((e) => TERMINAL_JOB_STATES.has(e.state))) continue;
        const row = await getJob(db, job.project, job.id);
        // The row ends a moment before its terminal event is written: one more read's grace, then the row speaks.
        if (rowEnded && TERMINAL_JOB_STATES.has(row.state)) inbox.push({ ...finalEvent(row), seq: lastSeq + 1 });
        rowEnded = TERMINAL_JOB_STATES.has(row.state);
      } catch (err) {
        // A job deleted meanwhile (its project was) ends the watch; any other failed read is tried again.
        if (isAideError(err, 'NOT_FOUND')) return inbox.fail(err);
      }
    }
  };

  void followBus();
  void readLog();
  try {
    for await (const event of inbox) {
      if (event.seq <= lastSeq) continue;
      lastSeq = event.seq;
      yield event;
      if (isTerminalState(event.state)) return;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    stop.abort();
  }
}

/** WatchJob: a job's events, backlog then live, ending with the job. */
import type { EventBus } from '../../../libs/bus/index.js';
import type { ProgressEvent } from '../../../libs/gen/aide/v1/common.js';
import { TERMINAL_JOB_STATES, type Job } from '../domain.js';
import type { Db } from '../store/db.js';
import { jobEvents } from '../store/job-events.js';
import { jobEventToProto, jobStateToProto } from '../wire/job.js';

/** The job row as its last event: what a watcher of a finished job sees when that event was not (yet) kept. */
const finalEvent = (job: Job): ProgressEvent => ({
  jobId: job.id, project: job.project, workerId: job.worker, state: jobStateToProto(job.state), modelState: '',
  message: job.error || job.message, done: job.done, total: job.total, time: job.finishedAt ?? job.createdAt, seq: 0,
});

/**
 * A running or queued job is followed on the bus (which ends the stream at the
 * terminal event). A finished one is replayed from the database: the bus may
 * have lost it (an in-process bus restarts empty), and waiting on it then would
 * never end.
 */
export async function* watchJob(db: Db, bus: EventBus, job: Job, signal: AbortSignal): AsyncGenerator<ProgressEvent> {
  if (!TERMINAL_JOB_STATES.has(job.state)) {
    for await (const { event } of bus.watch(job.project, job.id, { signal })) yield event;
    return;
  }
  const events = await jobEvents(db, job.id);
  for (const e of events) yield jobEventToProto(job.project, job.id, e);
  // The job row turns terminal a moment before its last event is stored; a watcher
  // arriving in between (or of a job whose events were not kept) still sees the end.
  const last = events.at(-1);
  if (!last || !TERMINAL_JOB_STATES.has(last.state)) yield { ...finalEvent(job), seq: (last?.seq ?? 0) + 1 };
}

/** The terminal event of a job that ended without a runner (cancelled while queued). */
import type { EventBus } from '../../../libs/bus/index.js';
import { JobState } from '../../../libs/gen/aide/v1/common.js';
import type { Job } from '../domain.js';
import type { Db } from '../store/db.js';
import { appendJobEvent, jobEvents } from '../store/job-events.js';
import { jobEventFromProto } from '../wire/job.js';

/** A job cancelled while queued never reaches a worker: its watchers get the terminal event from here. */
export async function announceCancelled(db: Db, bus: EventBus, job: Job, message: string): Promise<void> {
  const seq = ((await jobEvents(db, job.id)).at(-1)?.seq ?? 0) + 1;
  const event = { jobId: job.id, project: job.project, workerId: '', state: JobState.JOB_STATE_CANCELLED, modelState: '', message, done: job.done, total: job.total, time: new Date(), seq };
  await appendJobEvent(db, job.id, jobEventFromProto(event)!);
  await bus.publish(event);
}

/** The terminal event of a job that ended without a runner (cancelled while queued). */
import { JobState } from '../../../libs/gen/aide/v1/common.js';
import type { Job } from '../domain.js';
import { appendJobEvents, jobEvents } from '../store/job-events.js';
import { jobEventFromProto } from '../wire/job.js';
import type { ControllerDeps } from './deps.js';

/** A job cancelled while queued never reaches a worker: its watchers get the terminal event from here. */
export async function announceCancelled({ pool, bus, logger }: Pick<ControllerDeps, 'pool' | 'bus' | 'logger'>, job: Job, message: string): Promise<void> {
  const seq = ((await jobEvents(pool, job.id)).at(-1)?.seq ?? 0) + 1;
  const event = { jobId: job.id, project: job.project, workerId: '', state: JobState.JOB_STATE_CANCELLED, modelState: '', message, done: job.done, total: job.total, time: new Date(), seq };
  await appendJobEvents(pool, job.id, [jobEventFromProto(event)!]);
  // The cancel is done and logged; watchers read the log while the bus is unreachable, so it is not waited on.
  bus.publish(event).catch((err: unknown) => logger.warn({ err, jobId: job.id }, 'cancel event not published'));
}

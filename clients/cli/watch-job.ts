import { JobState, ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import { GetJobResponse } from '../../libs/gen/aide/v1/controller.js';
import { EXIT_FAILED } from './failure.js';
import { jobWithSteps } from './format.js';
import { progressBar } from './progress-bar.js';
import type { Session } from './session.js';

/**
 * Follows a job to its end: a progress bar on stderr (with --json: one event
 * per line on stdout), then the finished job with its steps. A job that does
 * not succeed sets exit code 1.
 */
export async function watchJob(session: Session, project: string, id: string): Promise<void> {
  const bar = session.json ? undefined : progressBar();
  bar?.start(1, 0, { message: 'waiting for the first event' });
  try {
    for await (const { event } of session.controller.watchJob({ project, id })) {
      if (!event) continue;
      if (session.json) session.out.write(`${JSON.stringify(ProgressEvent.toJSON(event))}\n`);
      bar?.setTotal(Math.max(1, event.total));
      bar?.update(Math.min(event.done, Math.max(1, event.total)), { message: event.message.slice(0, 60) });
    }
  } finally {
    bar?.stop();
  }
  const res = await session.controller.getJob({ project, id });
  session.print(res, GetJobResponse, jobWithSteps);
  if (res.job?.state !== JobState.JOB_STATE_SUCCEEDED) process.exitCode = EXIT_FAILED;
}

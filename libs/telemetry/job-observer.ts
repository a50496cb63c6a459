import { SpanStatusCode } from '@opentelemetry/api';
import { jobDuration, jobsRunning, jobsTotal } from './metrics.js';
import { inSpan } from './tracer.js';

/** How a job run ended here: 'abandoned' = left to its lease (another controller, or this one restarted, resumes it). */
export type JobOutcome = 'succeeded' | 'failed' | 'cancelled' | 'abandoned';

/**
 * Runs one job under its root span `job <kind>` (every orchestration span,
 * worker call and FileServer read of the job nests under it) and counts it in
 * the job metrics when it ends.
 */
export async function observeJob(job: { id: string; project: string; kind: string }, run: () => Promise<JobOutcome>): Promise<JobOutcome> {
  const kind = job.kind;
  jobsRunning.inc({ kind });
  const stopTimer = jobDuration.startTimer({ kind });
  let outcome: JobOutcome = 'failed';
  try {
    outcome = await inSpan(`job ${kind}`, { attributes: { 'aide.job.id': job.id, 'aide.job.kind': kind, 'aide.project': job.project } }, async (span) => {
      const ended = await run();
      span.setAttribute('aide.job.outcome', ended);
      if (ended === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: 'job failed' });
      return ended;
    });
    return outcome;
  } finally {
    jobsRunning.dec({ kind });
    jobsTotal.inc({ kind, state: outcome });
    stopTimer({ state: outcome });
  }
}

import { pushable } from 'it-pushable';
import { AideError, cancelled } from '../../libs/errors.js';
import { JobState, type ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import type { ProgressPublisher } from '../../libs/bus/index.js';
import type { UpdateState } from '../../libs/plugin/plugin.js';
import { progressReporter, type ProgressReporter } from '../../libs/progress/reporter.js';
import { traceHeaders } from '../../libs/telemetry/trace-headers.js';
import { inSpan } from '../../libs/telemetry/tracer.js';

export interface JobRun<T> {
  /** Progress events of the model's work, as they happen; ends when the work ends. */
  events: AsyncIterable<ProgressEvent>;
  /** The work's result; rejects with CANCELLED when the signal aborted it. */
  result: Promise<T>;
  /** Reports the job's end (after the caller has sent the result); the bus gets it when it can. */
  finish(): ProgressEvent;
  /** Reports the failure (FAILED or CANCELLED) and returns the error to throw. */
  fail(err: unknown): AideError | Error;
}

/**
 * Runs one job's model work with progress going to the caller's stream and,
 * without waiting, to the bus (in order, through the publisher's queue), and
 * the AbortSignal of the call handed to the model.
 */
export function runJob<T>(opts: {
  jobId: string;
  project: string;
  workerId: string;
  progress: ProgressPublisher;
  signal: AbortSignal;
  work: (updateState: UpdateState, signal: AbortSignal) => Promise<T>;
}): JobRun<T> {
  const events = pushable<ProgressEvent>({ objectMode: true });
  // Taken inside the call's server span: the job's events on the bus link to the controller's trace.
  const headers = traceHeaders();
  let last: ProgressEvent | undefined;
  const reporter: ProgressReporter = progressReporter({
    jobId: opts.jobId, project: opts.project, workerId: opts.workerId,
    emit: (event) => {
      last = event;
      opts.progress.publish(event, { headers });
      events.push(event);
    },
  });
  reporter.report(JobState.JOB_STATE_RUNNING, 'started');
  const attributes = { 'aide.job.id': opts.jobId, 'aide.project': opts.project, 'aide.worker': opts.workerId };
  const result = inSpan('model work', { attributes }, async () => {
    try {
      opts.signal.throwIfAborted();
      return await opts.work(reporter.updateState, opts.signal);
    } finally {
      reporter.flush(); // the model's last report, held back by the throttle, still reaches the stream
      events.end();
    }
  });
  result.catch(() => {}); // observed through fail(); avoid an unhandled rejection meanwhile

  return {
    events,
    result,
    finish() {
      // The model's last word stays in the final event: a job's stored events may keep only the last of a
      // shard's (they coalesce), and what it said (e.g. which execution provider ran it) should survive.
      const said = last?.state === JobState.JOB_STATE_RUNNING && last.message !== 'started' ? last.message : '';
      reporter.report(JobState.JOB_STATE_SUCCEEDED, said ? `done (${said})` : 'done');
      return last!;
    },
    fail(err) {
      const wasCancelled = opts.signal.aborted;
      const message = err instanceof Error ? err.message : String(err);
      reporter.report(wasCancelled ? JobState.JOB_STATE_CANCELLED : JobState.JOB_STATE_FAILED, wasCancelled ? 'cancelled' : message);
      if (wasCancelled) return cancelled(`job ${opts.jobId} cancelled`);
      return err instanceof Error ? err : new AideError('INTERNAL', message);
    },
  };
}

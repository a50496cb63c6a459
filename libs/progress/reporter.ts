import { JobState, type ProgressEvent } from '../gen/aide/v1/common.js';
import type { UpdateState } from '../plugin/plugin.js';

export interface ProgressReporter {
  /** The model's updateState(state, message, done, total). */
  updateState: UpdateState;
  /** Reports a job state (RUNNING at start, a terminal state at the end); never throttled. */
  report(state: JobState, message?: string): void;
}

/**
 * Turns updateState calls into ProgressEvents with a per-job sequence number,
 * throttled to at most `maxPerSecond` (the latest report wins; the last one is
 * always delivered, by report() or a trailing timer).
 */
export function progressReporter(opts: {
  jobId: string;
  project: string;
  workerId: string;
  emit: (event: ProgressEvent) => void;
  maxPerSecond?: number;
}): ProgressReporter {
  const interval = 1000 / (opts.maxPerSecond ?? 10);
  let seq = 0;
  let lastEmit = -Infinity;
  let pending: ProgressEvent | undefined;
  let timer: NodeJS.Timeout | undefined;
  let done = 0;
  let total = 0;

  const make = (state: JobState, modelState: string, message: string): ProgressEvent => ({
    jobId: opts.jobId, project: opts.project, workerId: opts.workerId, state, modelState, message,
    done, total, time: new Date(), seq: 0,
  });
  const emitNow = (event: ProgressEvent) => {
    event.seq = ++seq;
    lastEmit = performance.now();
    opts.emit(event);
  };
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (pending) { const e = pending; pending = undefined; emitNow(e); }
  };

  return {
    updateState(state, message = '', d, t) {
      if (typeof d === 'number') done = d;
      if (typeof t === 'number') total = t;
      pending = make(JobState.JOB_STATE_RUNNING, state, message);
      const wait = lastEmit + interval - performance.now();
      if (wait <= 0) flush();
      else timer ??= setTimeout(flush, wait);
    },
    report(state, message = '') {
      const terminal = state !== JobState.JOB_STATE_RUNNING && state !== JobState.JOB_STATE_QUEUED;
      if (pending && !terminal) flush();
      // A terminal event supersedes a pending model report, but keeps its counters.
      clearTimeout(timer);
      timer = undefined;
      pending = undefined;
      if (state === JobState.JOB_STATE_SUCCEEDED && total > 0) done = total;
      emitNow(make(state, '', message));
    },
  };
}

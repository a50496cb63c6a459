import { JobState, type ProgressEvent } from '../gen/aide/v1/common.js';
import type { UpdateState } from '../plugin/plugin.js';
import { monotoneProgress } from './monotone.js';

export interface ProgressReporter {
  /** The model's updateState(state, message, done, total). */
  updateState: UpdateState;
  /** Reports a job state (RUNNING at start, a terminal state at the end) after any held-back report; never throttled. */
  report(state: JobState, message?: string): void;
  /** Emits a report the throttle holds back now: at a phase boundary, so watchers see each phase's last word. */
  flush(): void;
}

/**
 * Turns updateState calls into ProgressEvents with a per-job sequence number,
 * throttled to at most `maxPerSecond` (the latest report wins; the last one is
 * always delivered, by report() or a trailing timer). A terminal report is
 * the last event: what comes after it is dropped. done/total never goes back
 * (see monotoneProgress): a model's next phase or a retried part holds the bar.
 */
export function progressReporter(opts: {
  jobId: string;
  project: string;
  workerId: string;
  emit: (event: ProgressEvent) => void;
  maxPerSecond?: number;
  /** Where an earlier run of the job left its bar (a resumed job): the bar goes on from there, not back. */
  resumeFrom?: { done: number; total: number };
}): ProgressReporter {
  const interval = 1000 / (opts.maxPerSecond ?? 10);
  let seq = 0;
  let lastEmit = -Infinity;
  let pending: ProgressEvent | undefined;
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  const forward = monotoneProgress();
  let { done, total } = forward(opts.resumeFrom?.done ?? 0, opts.resumeFrom?.total ?? 0);

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
      if (ended) return; // a model still reporting after its job ended (cancelled) must not reopen it
      if (typeof d === 'number' || typeof t === 'number') ({ done, total } = forward(d ?? done, t ?? total));
      pending = make(JobState.JOB_STATE_RUNNING, state, message);
      const wait = lastEmit + interval - performance.now();
      if (wait <= 0) flush();
      else timer ??= setTimeout(flush, wait);
    },
    report(state, message = '') {
      if (ended) return;
      // The model's last word first: where a job was when it failed is worth seeing.
      flush();
      ended = state !== JobState.JOB_STATE_RUNNING && state !== JobState.JOB_STATE_QUEUED;
      if (state === JobState.JOB_STATE_SUCCEEDED && total > 0) done = total;
      emitNow(make(state, '', message));
    },
    flush,
  };
}

/**
 * The progress event bus: jobs publish ProgressEvents, watchers follow one job
 * (backlog first, then live, until its terminal event), subscribers follow the
 * live events of a project. Implemented over NATS JetStream (nats-bus.ts) and
 * in-process (memory-bus.ts) with the same semantics.
 */
import { JobState, type ProgressEvent } from '../gen/aide/v1/common.js';

export interface PublishOptions {
  /** Carried alongside the event (NATS message headers), e.g. W3C `traceparent`. */
  headers?: Record<string, string>;
}

export interface BusEvent {
  event: ProgressEvent;
  headers: Record<string, string>;
}

export interface WatchOptions {
  signal?: AbortSignal;
}

/**
 * A live subscription. It is registered when `subscribe()` is called (not at
 * the first `next()`); `ready` resolves once events published from now on are
 * guaranteed to be delivered to it (rejects if it could not be set up — the
 * same error is then thrown by the iteration).
 */
export interface BusSubscription extends AsyncIterable<BusEvent> {
  readonly ready: Promise<void>;
}

export interface EventBus {
  /** Persists (NATS: JetStream-acknowledged) and delivers one event. Rejects on invalid project/jobId. */
  publish(event: ProgressEvent, opts?: PublishOptions): Promise<void>;
  /**
   * The job's backlog first, then its live events, in publish order, with no
   * duplicates and no gaps; completes after yielding a terminal event
   * (SUCCEEDED/FAILED/CANCELLED) of the job, or when `signal` aborts (then it
   * just ends). Throws synchronously on an invalid project/jobId.
   */
  watch(project: string, jobId: string, opts?: WatchOptions): AsyncIterable<BusEvent>;
  /**
   * Live events of every job of a project ('*' = all projects) until `signal`
   * aborts, the consumer stops iterating, or the bus closes. Throws
   * synchronously on an invalid project.
   */
  subscribe(project: string, opts?: WatchOptions): BusSubscription;
  /** Ends every open watch/subscription and releases the connection. Idempotent. */
  close(): Promise<void>;
}

const TERMINAL: ReadonlySet<JobState> = new Set([
  JobState.JOB_STATE_SUCCEEDED,
  JobState.JOB_STATE_FAILED,
  JobState.JOB_STATE_CANCELLED,
]);

/** SUCCEEDED, FAILED and CANCELLED end a job: no event of it follows. */
export function isTerminalState(state: JobState): boolean {
  return TERMINAL.has(state);
}

/**
 * In-process EventBus (embedded demo, tests): the same semantics as the NATS
 * bus without a server. Events are encoded/decoded like on the wire, so a
 * watcher sees exactly what it would see over NATS. Bounded: each job keeps
 * its last `maxEventsPerJob` events; a job that ended is dropped after
 * `endedJobTtlMs` or when more than `maxEndedJobs` jobs have ended since; at
 * most `maxJobs` jobs are kept at all (least recently updated dropped first).
 */
import { ProgressEvent } from '../gen/aide/v1/common.js';
import { unavailable } from '../errors.js';
import { Channel } from './channel.js';
import {
  type BusEvent, type BusSubscription, type EventBus, type PublishOptions, type WatchOptions, isTerminalState,
} from './bus.js';
import { assertToken } from './subjects.js';

export interface MemoryBusOptions {
  /** Events kept per job for late watchers (oldest dropped first). Default 10 000. */
  maxEventsPerJob?: number;
  /** How long a job that ended stays watchable. Default 10 minutes. */
  endedJobTtlMs?: number;
  /** How many ended jobs stay watchable. Default 1 000. */
  maxEndedJobs?: number;
  /** Jobs kept at all, ended or not. Default 10 000. */
  maxJobs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

interface JobLog {
  events: BusEvent[];
  /** Set once a terminal event was published. */
  endedAt?: number;
}

interface Subscriber {
  project: string;
  channel: Channel<BusEvent>;
}

const key = (project: string, jobId: string): string => `${project}\u0000${jobId}`;

export class MemoryBus implements EventBus {
  private readonly jobs = new Map<string, JobLog>(); // least recently updated first
  private readonly ended = new Map<string, number>(); // ended first → last
  private readonly watchers = new Map<string, Set<Channel<BusEvent>>>();
  private readonly subscribers = new Set<Subscriber>();
  private readonly maxEventsPerJob: number;
  private readonly endedJobTtlMs: number;
  private readonly maxEndedJobs: number;
  private readonly maxJobs: number;
  private readonly now: () => number;
  private closed = false;

  constructor(opts: MemoryBusOptions = {}) {
    this.maxEventsPerJob = Math.max(1, opts.maxEventsPerJob ?? 10_000);
    this.endedJobTtlMs = Math.max(0, opts.endedJobTtlMs ?? 10 * 60_000);
    this.maxEndedJobs = Math.max(0, opts.maxEndedJobs ?? 1_000);
    this.maxJobs = Math.max(1, opts.maxJobs ?? 10_000);
    this.now = opts.now ?? Date.now;
  }

  /** Jobs currently kept (for tests and metrics). */
  get jobCount(): number {
    return this.jobs.size;
  }

  /** Open watches and subscriptions (for tests and metrics). */
  get listenerCount(): number {
    let n = this.subscribers.size;
    for (const set of this.watchers.values()) n += set.size;
    return n;
  }

  async publish(event: ProgressEvent, opts: PublishOptions = {}): Promise<void> {
    if (this.closed) throw unavailable('event bus is closed');
    assertToken('project', event.project);
    assertToken('jobId', event.jobId);
    // Same normalisation as the wire, and the stored copy is immune to later mutation.
    const item: BusEvent = {
      event: ProgressEvent.decode(ProgressEvent.encode(event).finish()),
      headers: { ...(opts.headers ?? {}) },
    };
    const k = key(event.project, event.jobId);
    const now = this.now();

    let log = this.jobs.get(k);
    if (log) this.jobs.delete(k); // re-insert: most recently updated last
    else log = { events: [] };
    this.jobs.set(k, log);
    log.events.push(item);
    if (log.events.length > this.maxEventsPerJob) log.events.splice(0, log.events.length - this.maxEventsPerJob);
    if (isTerminalState(item.event.state)) {
      log.endedAt = now;
      this.ended.delete(k);
      this.ended.set(k, now);
    }

    const ws = this.watchers.get(k);
    if (ws) {
      for (const ch of [...ws]) deliverToWatcher(ch, item);
    }
    for (const s of this.subscribers) {
      if (s.project === '*' || s.project === event.project) s.channel.push(copy(item));
    }
    this.prune(now);
  }

  watch(project: string, jobId: string, opts: WatchOptions = {}): AsyncIterable<BusEvent> {
    assertToken('project', project);
    assertToken('jobId', jobId);
    const k = key(project, jobId);
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<BusEvent> => {
        const { signal } = opts;
        const onAbort = (): void => channel.end();
        const channel: Channel<BusEvent> = new Channel(() => {
          signal?.removeEventListener('abort', onAbort);
          const set = this.watchers.get(k);
          set?.delete(channel);
          if (set?.size === 0) this.watchers.delete(k);
        });
        if (this.closed || signal?.aborted) {
          channel.end();
          return channel;
        }
        // Backlog and registration in one synchronous step: no gap, no duplicate.
        for (const item of this.jobs.get(k)?.events ?? []) {
          deliverToWatcher(channel, item);
          if (channel.isDone) return channel;
        }
        let set = this.watchers.get(k);
        if (!set) this.watchers.set(k, (set = new Set()));
        set.add(channel);
        signal?.addEventListener('abort', onAbort, { once: true });
        return channel;
      },
    };
  }

  subscribe(project: string, opts: WatchOptions = {}): BusSubscription {
    if (project !== '*') assertToken('project', project);
    const { signal } = opts;
    const onAbort = (): void => channel.end();
    const channel: Channel<BusEvent> = new Channel(() => {
      signal?.removeEventListener('abort', onAbort);
      this.subscribers.delete(sub);
    });
    const sub: Subscriber = { project, channel };
    let ready = Promise.resolve();
    if (this.closed) {
      const err = unavailable('event bus is closed');
      channel.fail(err);
      ready = Promise.reject(err);
      ready.catch(() => {});
    } else if (signal?.aborted) {
      channel.end();
    } else {
      this.subscribers.add(sub);
      signal?.addEventListener('abort', onAbort, { once: true });
    }
    return { ready, [Symbol.asyncIterator]: () => channel };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const set of [...this.watchers.values()]) for (const ch of [...set]) ch.end();
    for (const s of [...this.subscribers]) s.channel.end();
    this.jobs.clear();
    this.ended.clear();
  }

  private prune(now: number): void {
    for (const [k, endedAt] of this.ended) {
      if (this.ended.size <= this.maxEndedJobs && now - endedAt <= this.endedJobTtlMs) break;
      this.ended.delete(k);
      const log = this.jobs.get(k);
      if (log?.endedAt === endedAt) this.jobs.delete(k);
    }
    while (this.jobs.size > this.maxJobs) {
      const oldest = this.jobs.keys().next().value as string;
      this.jobs.delete(oldest);
      this.ended.delete(oldest);
    }
  }
}

function copy(item: BusEvent): BusEvent {
  return { event: { ...item.event, time: item.event.time ? new Date(item.event.time) : undefined }, headers: { ...item.headers } };
}

function deliverToWatcher(channel: Channel<BusEvent>, item: BusEvent): void {
  channel.push(copy(item));
  if (isTerminalState(item.event.state)) channel.end();
}

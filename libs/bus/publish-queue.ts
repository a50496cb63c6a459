/**
 * Fire-and-forget publishing of progress events: the work that reports
 * progress never waits on the bus. Events queue per job and go out in order,
 * one in flight per job; a failed publish is retried (with backoff) until the
 * bus takes it, so events published while NATS is down arrive when it is back.
 * Memory stays bounded: a job's queue keeps only the events that say something
 * the later ones do not (see `dropSuperseded`), and the whole queue is capped.
 */
import type { ProgressEvent } from '../gen/aide/v1/common.js';
import type { Logger } from '../log.js';
import { isTerminalState, type EventBus, type PublishOptions } from './bus.js';

/** What a job's progress is published through: `publish` returns at once and never throws. */
export interface ProgressPublisher {
  publish(event: ProgressEvent, opts?: PublishOptions): void;
}

export interface PublishQueueOptions {
  logger?: Logger;
  /** Events kept per job before superseded ones are dropped. Default 32. */
  maxPerJob?: number;
  /** Events kept over all jobs; beyond it the oldest are dropped, loudly. Default 10 000. */
  maxEvents?: number;
  /** Pause before the first retry of a failed publish, doubling up to `maxRetryMs`. Default 100 ms. */
  minRetryMs?: number;
  /** Default 5 s. */
  maxRetryMs?: number;
}

interface Item { event: ProgressEvent; opts?: PublishOptions }

/**
 * Drops, oldest first, events whose next event has the same state (it carries
 * newer done/total and message), until at most `max` remain. Terminal events,
 * state changes and the latest event are never dropped, so the result may stay
 * longer than `max`. Returns how many were dropped.
 */
export function dropSuperseded<T>(items: T[], max: number, eventOf: (item: T) => Pick<ProgressEvent, 'state'>): number {
  let dropped = 0;
  for (let i = 0; items.length > max && i < items.length - 1;) {
    const state = eventOf(items[i]!).state;
    if (!isTerminalState(state) && eventOf(items[i + 1]!).state === state) {
      items.splice(i, 1);
      dropped++;
    } else {
      i++;
    }
  }
  return dropped;
}

class Lane {
  readonly queue: Item[] = [];
  sending = false;
}

export class PublishQueue implements ProgressPublisher {
  readonly #lanes = new Map<string, Lane>();
  readonly #idle: Array<() => void> = [];
  readonly #sleeping = new Map<NodeJS.Timeout, () => void>();
  readonly #maxPerJob: number;
  readonly #maxEvents: number;
  readonly #minRetryMs: number;
  readonly #maxRetryMs: number;
  #queued = 0;
  #failing = false;
  #closed = false;

  constructor(private readonly bus: EventBus, private readonly opts: PublishQueueOptions = {}) {
    this.#maxPerJob = opts.maxPerJob ?? 32;
    this.#maxEvents = opts.maxEvents ?? 10_000;
    this.#minRetryMs = opts.minRetryMs ?? 100;
    this.#maxRetryMs = opts.maxRetryMs ?? 5000;
  }

  /** Events not yet taken by the bus (queued or in flight). */
  get pending(): number {
    return this.#queued;
  }

  publish(event: ProgressEvent, opts?: PublishOptions): void {
    if (this.#closed) {
      this.opts.logger?.warn({ jobId: event.jobId, seq: event.seq }, 'progress event after the publish queue closed: not published');
      return;
    }
    const key = `${event.project}\u0000${event.jobId}`;
    let lane = this.#lanes.get(key);
    if (!lane) this.#lanes.set(key, (lane = new Lane()));
    lane.queue.push({ event, opts });
    this.#queued++;
    if (lane.queue.length > this.#maxPerJob) this.#queued -= dropSuperseded(lane.queue, this.#maxPerJob, (i) => i.event);
    if (this.#queued > this.#maxEvents) this.#shed();
    if (!lane.sending) void this.#send(key, lane);
  }

  /** Resolves true once everything published so far reached the bus, false after `timeoutMs`. */
  drained(timeoutMs = Infinity): Promise<boolean> {
    if (this.pending === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => { clearTimeout(timer); resolve(true); };
      this.#idle.push(done);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          const i = this.#idle.indexOf(done);
          if (i >= 0) this.#idle.splice(i, 1);
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  /** Gives the bus up to `deadlineMs` for what is queued, then stops retrying; returns how many events were left out (logged). */
  async close(deadlineMs: number): Promise<number> {
    await this.drained(deadlineMs);
    this.#closed = true;
    for (const [t, wake] of this.#sleeping) { clearTimeout(t); wake(); }
    this.#sleeping.clear();
    const left = this.pending;
    if (left > 0) this.opts.logger?.error({ events: left }, 'progress events not published before shutdown: the bus did not take them');
    this.#lanes.clear();
    this.#queued = 0;
    for (const wake of this.#idle.splice(0)) wake();
    return left;
  }

  async #send(key: string, lane: Lane): Promise<void> {
    lane.sending = true;
    let retryMs = this.#minRetryMs;
    while (!this.#closed && lane.queue.length > 0) {
      const item = lane.queue[0]!;
      try {
        await this.bus.publish(item.event, item.opts);
        if (this.#closed) return; // close() has counted and dropped what was left
        if (this.#failing) this.opts.logger?.info('progress events reach the bus again');
        this.#failing = false;
        retryMs = this.#minRetryMs;
        // The item stays queued (and counted) while in flight; a cap may have dropped it meanwhile.
        if (lane.queue[0] === item) { lane.queue.shift(); this.#queued--; }
      } catch (err) {
        if (this.#closed) return;
        if (!this.#failing) this.opts.logger?.warn({ err, jobId: item.event.jobId }, 'progress events cannot be published: queued and retried');
        this.#failing = true;
        // While it failed, newer events may have superseded it: drop what they say better.
        this.#queued -= dropSuperseded(lane.queue, 1, (i) => i.event);
        await this.#sleep(retryMs);
        retryMs = Math.min(retryMs * 2, this.#maxRetryMs);
      }
    }
    lane.sending = false;
    if (lane.queue.length === 0 && this.#lanes.get(key) === lane) this.#lanes.delete(key);
    if (this.#queued === 0) for (const wake of this.#idle.splice(0)) wake();
  }

  /** Over the global cap: superseded events first, then (an outage with very many jobs) the oldest ones, loudly. */
  #shed(): void {
    for (const lane of this.#lanes.values()) {
      if (this.#queued <= this.#maxEvents) return;
      this.#queued -= dropSuperseded(lane.queue, 1, (i) => i.event);
    }
    let lost = 0;
    for (const lane of this.#lanes.values()) {
      while (this.#queued > this.#maxEvents && lane.queue.length > 0) {
        lane.queue.shift();
        this.#queued--;
        lost++;
      }
      if (this.#queued <= this.#maxEvents) break;
    }
    if (lost > 0) this.opts.logger?.error({ lost, maxEvents: this.#maxEvents }, 'progress events dropped: the bus is unreachable and the publish queue is full');
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => { this.#sleeping.delete(t); resolve(); }, ms);
      t.unref(); // a retry alone does not keep a process alive; shutdown calls close()
      this.#sleeping.set(t, resolve);
    });
  }
}

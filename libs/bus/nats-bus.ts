/**
 * EventBus over NATS JetStream. Events are stored in one stream per subject
 * prefix (`<prefix>.progress.>`, file storage, bounded by age and a per-subject
 * cap), so a late watcher gets the job's backlog. `watch` is an ordered
 * consumer on the job's subject delivering everything (backlog, then live);
 * `subscribe` is an ordered consumer on the project's subjects delivering new
 * events only. Ordered consumers recreate themselves after a gap or reconnect
 * at the next stream sequence, so a watcher sees no gap and no duplicate.
 */
import {
  connect, DeliverPolicy, DiscardPolicy, headers as natsHeaders, nanos, RetentionPolicy, StorageType,
  type ConnectionOptions, type Consumer, type ConsumerMessages, type JetStreamClient, type JsMsg,
  type MsgHdrs, type NatsConnection, type NatsError, type StreamConfig,
} from 'nats';
import { ProgressEvent } from '../gen/aide/v1/common.js';
import { unavailable } from '../errors.js';
import { Channel } from './channel.js';
import {
  type BusEvent, type BusSubscription, type EventBus, type PublishOptions, type WatchOptions, isTerminalState,
} from './bus.js';
import {
  assertPrefix, assertStreamName, defaultStreamName, DEFAULT_SUBJECT_PREFIX, progressSubject, projectFilter,
  streamSubjects,
} from './subjects.js';

export interface NatsBusOptions {
  /** One URL or a comma-separated list, e.g. 'nats://127.0.0.1:4222'. */
  natsUrl: string;
  /** Stream name; default derived from the prefix ('aide' → 'AIDE_PROGRESS'). */
  stream?: string;
  /** Subject prefix; default 'aide'. */
  subjectPrefix?: string;
  /** Events older than this are discarded by the server. Default 7 days. */
  maxAgeMs?: number;
  /** Events kept per job subject (oldest discarded). Default 10 000. */
  maxMsgsPerSubject?: number;
  /** Extra nats.js connection options (name, auth, tls, ...). */
  connection?: Partial<ConnectionOptions>;
}

const STREAM_NOT_FOUND = 10059;
const STREAM_NAME_IN_USE = 10058;
const DAY_MS = 24 * 60 * 60 * 1000;
const INITIAL_CREATE_RETRIES = 2;

/** The stream configuration the bus wants for a prefix. */
export function progressStreamConfig(
  name: string, prefix: string, maxAgeMs = 7 * DAY_MS, maxMsgsPerSubject = 10_000,
): Partial<StreamConfig> & { name: string } {
  return {
    name,
    subjects: streamSubjects(prefix),
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(maxAgeMs),
    max_msgs_per_subject: maxMsgsPerSubject,
    num_replicas: 1,
  };
}

const apiErrCode = (err: unknown): number | undefined => (err as NatsError | undefined)?.api_error?.err_code;

export class NatsBus implements EventBus {
  private readonly active = new Set<Channel<BusEvent>>();
  private readonly cleanups = new Set<Promise<unknown>>();
  private closed = false;

  private constructor(
    readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    readonly stream: string,
    readonly prefix: string,
    private readonly ownsConnection: boolean,
  ) {}

  /** Connects, creates or updates the prefix's stream, and returns the bus. */
  static async connect(opts: NatsBusOptions): Promise<NatsBus> {
    const prefix = opts.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
    assertPrefix(prefix);
    const stream = opts.stream ?? defaultStreamName(prefix);
    assertStreamName(stream);
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: opts.natsUrl.split(',').map((s) => s.trim()).filter(Boolean),
        name: 'aide-bus',
        maxReconnectAttempts: -1,
        ...opts.connection,
      });
    } catch (err) {
      throw unavailable(`cannot connect to NATS at ${opts.natsUrl}: ${(err as Error).message}`);
    }
    try {
      return await NatsBus.withConnection(nc, { ...opts, stream, subjectPrefix: prefix }, true);
    } catch (err) {
      await nc.close().catch(() => {});
      throw err;
    }
  }

  /** A bus on an existing connection (not closed by `close()`). */
  static async withConnection(
    nc: NatsConnection, opts: Omit<NatsBusOptions, 'natsUrl' | 'connection'>, ownsConnection = false,
  ): Promise<NatsBus> {
    const prefix = opts.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX;
    assertPrefix(prefix);
    const stream = opts.stream ?? defaultStreamName(prefix);
    assertStreamName(stream);
    await ensureStream(nc, progressStreamConfig(stream, prefix, opts.maxAgeMs, opts.maxMsgsPerSubject));
    return new NatsBus(nc, nc.jetstream(), stream, prefix, ownsConnection);
  }

  async publish(event: ProgressEvent, opts: PublishOptions = {}): Promise<void> {
    if (this.closed) throw unavailable('event bus is closed');
    const subject = progressSubject(this.prefix, event.project, event.jobId);
    let hdrs: MsgHdrs | undefined;
    const entries = Object.entries(opts.headers ?? {});
    if (entries.length > 0) {
      hdrs = natsHeaders();
      for (const [k, v] of entries) hdrs.set(k, v);
    }
    // A retried publish whose first ack was lost (NATS restarting) is stored once: the server
    // drops a repeated msgID within its duplicate window. The time tells a job's rerun from a retry.
    const msgID = `${event.jobId}:${event.seq}:${event.time?.getTime() ?? 0}`;
    await this.js.publish(subject, ProgressEvent.encode(event).finish(), { msgID, ...(hdrs && { headers: hdrs }) });
  }

  watch(project: string, jobId: string, opts: WatchOptions = {}): AsyncIterable<BusEvent> {
    const subject = progressSubject(this.prefix, project, jobId);
    return {
      // No deliver_policy = from the stream's first message. (nats.js sends
      // opt_start_seq with it, which the server refuses for DeliverPolicy.All.)
      [Symbol.asyncIterator]: () => this.open(subject, undefined, true, opts.signal).channel,
    };
  }

  subscribe(project: string, opts: WatchOptions = {}): BusSubscription {
    const filter = projectFilter(this.prefix, project);
    const { channel, ready } = this.open(filter, DeliverPolicy.New, false, opts.signal);
    return { ready, [Symbol.asyncIterator]: () => channel };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ch of [...this.active]) ch.end();
    await Promise.allSettled([...this.cleanups]);
    if (this.ownsConnection) {
      await this.nc.drain().catch(() => this.nc.close());
    }
  }

  /** One ordered consumer feeding a channel; released when the channel ends for any reason. */
  private open(
    filter: string, policy: DeliverPolicy.New | undefined, untilTerminal: boolean, signal: AbortSignal | undefined,
  ): { channel: Channel<BusEvent>; ready: Promise<void> } {
    let consumer: Consumer | undefined;
    let messages: ConsumerMessages | undefined;
    const onAbort = (): void => channel.end();
    const release = (): void => {
      messages?.stop();
      if (consumer) this.track(consumer.delete().catch(() => false));
    };
    const channel: Channel<BusEvent> = new Channel(() => {
      signal?.removeEventListener('abort', onAbort);
      this.active.delete(channel);
      release();
    });
    if (this.closed) {
      const err = unavailable('event bus is closed');
      channel.fail(err);
      const ready = Promise.reject(err);
      ready.catch(() => {});
      return { channel, ready };
    }
    if (signal?.aborted) {
      channel.end();
      return { channel, ready: Promise.resolve() };
    }
    this.active.add(channel);
    signal?.addEventListener('abort', onAbort, { once: true });

    const ready = (async () => {
      // A single filter string: filter_subject, which pre-2.10 servers understand too.
      const c = await this.js.consumers.get(this.stream, policy ? { filterSubjects: filter, deliver_policy: policy } : { filterSubjects: filter });
      if (channel.isDone) return;
      // nats.js retries a failing initial consumer creation 30 times with up to
      // 30 s pauses; fail fast instead (the error reaches the iteration).
      if ('maxInitialReset' in c) (c as { maxInitialReset: number }).maxInitialReset = INITIAL_CREATE_RETRIES;
      // A deleted stream ends the iteration with an error instead of retrying forever.
      const m = await c.consume({ max_messages: 256, abort_on_missing_resource: true });
      consumer = c;
      messages = m;
      if (channel.isDone) release(); // ended while the consumer was being created
    })();
    ready.then(
      () => {
        if (messages && !channel.isDone) void this.pump(messages, channel, untilTerminal);
      },
      (err: unknown) => channel.fail(err),
    );
    return { channel, ready };
  }

  private async pump(messages: ConsumerMessages, channel: Channel<BusEvent>, untilTerminal: boolean): Promise<void> {
    try {
      for await (const m of messages) {
        if (channel.isDone) break;
        const item = toBusEvent(m);
        if (!item) continue; // not a ProgressEvent: skip rather than kill the watch
        channel.push(item);
        if (untilTerminal && isTerminalState(item.event.state)) break;
      }
      channel.end();
    } catch (err) {
      channel.fail(err);
    }
  }

  private track(p: Promise<unknown>): void {
    this.cleanups.add(p);
    void p.finally(() => this.cleanups.delete(p));
  }
}

function toBusEvent(m: JsMsg): BusEvent | undefined {
  let event: ProgressEvent;
  try {
    event = ProgressEvent.decode(m.data);
  } catch {
    return undefined;
  }
  const headers: Record<string, string> = {};
  if (m.headers) {
    for (const [k, values] of m.headers) {
      if (k.toLowerCase().startsWith('nats-')) continue; // JetStream's own
      if (values.length > 0) headers[k] = values[0]!;
    }
  }
  return { event, headers };
}

/** Creates the stream, or updates it where its limits or subjects differ. Safe to race. */
export async function ensureStream(nc: NatsConnection, cfg: Partial<StreamConfig> & { name: string }): Promise<void> {
  const jsm = await nc.jetstreamManager();
  try {
    const info = await jsm.streams.info(cfg.name);
    const c = info.config;
    const same = JSON.stringify([...(c.subjects ?? [])].sort()) === JSON.stringify([...(cfg.subjects ?? [])].sort())
      && c.max_age === cfg.max_age && c.max_msgs_per_subject === cfg.max_msgs_per_subject;
    if (!same) await jsm.streams.update(cfg.name, { ...c, ...cfg });
    return;
  } catch (err) {
    if (apiErrCode(err) !== STREAM_NOT_FOUND) throw err;
  }
  try {
    await jsm.streams.add(cfg);
  } catch (err) {
    if (apiErrCode(err) !== STREAM_NAME_IN_USE) throw err;
    await jsm.streams.update(cfg.name, cfg);
  }
}

/**
 * Test targets for the event bus: the real NATS JetStream server when one is
 * reachable (AIDE_TEST_NATS_URL or nats://127.0.0.1:4222), the in-process bus
 * always. With AIDE_TEST_REQUIRE_SERVERS=1 an unreachable NATS fails the suite;
 * otherwise the NATS target is skipped with a printed reason.
 */
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import type { EventBus } from '../../libs/bus/bus.js';
import { MemoryBus } from '../../libs/bus/memory-bus.js';
import { NatsBus } from '../../libs/bus/nats-bus.js';

export const DEFAULT_TEST_NATS_URL = 'nats://127.0.0.1:4222';

export const natsTestUrl = (): string => process.env.AIDE_TEST_NATS_URL || DEFAULT_TEST_NATS_URL;
export const serversRequired = (): boolean => process.env.AIDE_TEST_REQUIRE_SERVERS === '1';

let probed: Promise<{ url: string; reason?: string }> | undefined;

/** Probes once (1 s timeout): connects and checks that JetStream is enabled. */
export function probeNats(): Promise<{ url: string; reason?: string }> {
  probed ??= (async () => {
    const url = natsTestUrl();
    let nc: NatsConnection | undefined;
    try {
      nc = await connect({ servers: url, timeout: 1000, reconnect: false, name: 'aide-test-probe' });
    } catch (err) {
      return { url, reason: `NATS not reachable at ${url}: ${(err as Error).message}` };
    }
    try {
      const jsm = await nc.jetstreamManager({ timeout: 1000 });
      await jsm.getAccountInfo();
      return { url };
    } catch (err) {
      return { url, reason: `JetStream not available at ${url}: ${(err as Error).message}` };
    } finally {
      await nc.close().catch(() => {});
    }
  })();
  return probed;
}

/** The NATS URL when a JetStream-enabled server answers within 1 s, else undefined. */
export async function realNatsUrl(): Promise<string | undefined> {
  const p = await probeNats();
  return p.reason ? undefined : p.url;
}

/** A bus opened for one test; `dispose` closes it and deletes what it created (the NATS stream). */
export type TestBus = EventBus & {
  readonly prefix: string;
  readonly stream: string;
  /** Open watches/subscriptions: NATS consumers on the stream, or the in-process bus's listeners. */
  listeners(): Promise<number>;
  dispose(): Promise<void>;
};

export interface BusTarget {
  name: 'nats' | 'memory';
  /** Set when the target cannot run here: tests call `t.skip(skipReason)`. */
  skipReason?: string;
  /**
   * A bus on `prefix` (default: a fresh unique one) and its own stream. Opening
   * the same prefix twice gives two clients of the same bus (two NATS
   * connections; the same in-process bus), as publisher and watcher in
   * different processes would be.
   */
  open(prefix?: string): Promise<TestBus>;
}

/** A fresh subject prefix, unique per test: `t_<hex>`. */
export const uniquePrefix = (): string => `t_${randomBytes(6).toString('hex')}`;
const streamFor = (prefix: string): string => `T_${prefix.replace(/[^A-Za-z0-9_-]/g, '_').toUpperCase()}`;

let announced = false;

/**
 * The targets to run the bus suite on. Throws (failing the suite) when NATS is
 * down and AIDE_TEST_REQUIRE_SERVERS=1.
 */
export async function busTargets(): Promise<BusTarget[]> {
  const probe = await probeNats();
  if (probe.reason && serversRequired()) {
    throw new Error(`AIDE_TEST_REQUIRE_SERVERS=1 but the real-NATS suite cannot run: ${probe.reason}`);
  }
  if (probe.reason && !announced) {
    announced = true;
    console.log(`skipped real-NATS suite: ${probe.reason}`);
  }
  const nats: BusTarget = {
    name: 'nats',
    skipReason: probe.reason ? `skipped real-NATS suite: ${probe.reason}` : undefined,
    async open(prefix = uniquePrefix()) {
      if (probe.reason) throw new Error(probe.reason);
      const stream = streamFor(prefix);
      const nc = await connect({ servers: probe.url, name: `aide-test-${prefix}` });
      const bus = await NatsBus.withConnection(nc, { subjectPrefix: prefix, stream });
      const listeners = async (): Promise<number> =>
        (await (await nc.jetstreamManager()).streams.info(stream)).state.consumer_count;
      return withDispose(bus, prefix, stream, listeners, async () => {
        await bus.close();
        try {
          const jsm = await nc.jetstreamManager();
          await jsm.streams.delete(stream).catch(() => false);
        } finally {
          await nc.close().catch(() => {});
        }
      });
    },
  };
  const shared = new Map<string, { bus: MemoryBus; refs: number }>();
  const memory: BusTarget = {
    name: 'memory',
    async open(prefix = uniquePrefix()) {
      let entry = shared.get(prefix);
      if (!entry) shared.set(prefix, (entry = { bus: new MemoryBus(), refs: 0 }));
      entry.refs++;
      const e = entry;
      let disposed = false;
      return withDispose(e.bus, prefix, streamFor(prefix), async () => e.bus.listenerCount, async () => {
        if (disposed) return;
        disposed = true;
        if (--e.refs === 0) {
          shared.delete(prefix);
          await e.bus.close();
        }
      });
    },
  };
  return [nats, memory];
}

function withDispose(
  bus: EventBus, prefix: string, stream: string, listeners: () => Promise<number>, dispose: () => Promise<void>,
): TestBus {
  return {
    prefix,
    stream,
    listeners,
    publish: (e, o) => bus.publish(e, o),
    watch: (p, j, o) => bus.watch(p, j, o),
    subscribe: (p, o) => bus.subscribe(p, o),
    // close() of a shared in-process bus only drops this client
    close: dispose,
    dispose,
  };
}

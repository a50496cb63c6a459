import { lookup } from 'node:dns/promises';
import type { GetCapabilitiesResponse } from '../../../libs/gen/aide/v1/worker.js';
import type { ClientOptions } from '../../../libs/grpc/index.js';
import type { Logger } from '../../../libs/log.js';
import { workerClient, type WorkerClient } from '../../../libs/worker-client/worker-client.js';

export interface PoolSettings {
  /** host:port of each worker. */
  staticAddresses: string[];
  /** "name[:port]": every address behind the name is a worker (a Kubernetes headless Service). */
  dns?: string;
  refreshMs: number;
  /** How to reach workers: TLS credentials and the mesh token (meshClientOptions). */
  client?: Pick<ClientOptions, 'credentials' | 'metadata'>;
  logger: Logger;
}

interface Member {
  address: string;
  client: WorkerClient;
  caps?: GetCapabilitiesResponse;
  healthy: boolean;
  /** Jobs this controller has running there (capabilities lag behind). */
  inFlight: number;
}

/** A worker held for one call; give it back with release(). */
export interface WorkerLease {
  address: string;
  client: WorkerClient;
  release(): void;
}

/**
 * The workers this controller can dispatch to: from config and DNS, re-resolved
 * and re-asked for their capabilities periodically; jobs go to the
 * least-loaded healthy one with a free slot.
 */
export class WorkerPool {
  readonly #members = new Map<string, Member>();
  readonly #waiters = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;

  constructor(readonly settings: PoolSettings) {}

  /** Resolves addresses, adds and drops members, asks each for its capabilities. */
  async refresh(): Promise<void> {
    const addresses = new Set(this.settings.staticAddresses);
    if (this.settings.dns) {
      const [name, port] = splitHostPort(this.settings.dns);
      try {
        for (const { address, family } of await lookup(name, { all: true })) addresses.add(family === 6 ? `[${address}]:${port}` : `${address}:${port}`);
      } catch (err) {
        this.settings.logger.warn({ err, dns: this.settings.dns }, 'worker DNS lookup failed');
      }
    }
    for (const [address, m] of this.#members) {
      if (!addresses.has(address) && m.inFlight === 0) { m.client.close(); this.#members.delete(address); }
    }
    for (const address of addresses) {
      if (!this.#members.has(address)) {
        this.#members.set(address, { address, client: workerClient(address, { ...this.settings.client, maxAttempts: 1 }), healthy: false, inFlight: 0 });
      }
    }
    await Promise.all([...this.#members.values()].map((m) => this.#probe(m)));
    this.#wake();
  }

  async #probe(m: Member): Promise<void> {
    try {
      m.caps = await m.client.getCapabilities({}, { deadline: 2000 });
      m.healthy = true;
    } catch {
      m.healthy = false;
    }
  }

  start(): Promise<void> {
    this.#timer = setInterval(() => void this.refresh(), this.settings.refreshMs);
    this.#timer.unref();
    return this.refresh();
  }

  stop(): void {
    clearInterval(this.#timer);
    for (const m of this.#members.values()) m.client.close();
    this.#members.clear();
    this.#wake();
  }

  /** Healthy workers and what they report, for status messages and tests. */
  snapshot(): { address: string; healthy: boolean; inFlight: number; caps?: GetCapabilitiesResponse }[] {
    return [...this.#members.values()].map(({ address, healthy, inFlight, caps }) => ({ address, healthy, inFlight, caps }));
  }

  /** Takes the member out of rotation until a probe finds it again (a call to it failed). */
  async suspect(address: string): Promise<boolean> {
    const m = this.#members.get(address);
    if (!m) return false;
    await this.#probe(m);
    return m.healthy;
  }

  #pick(exclude: ReadonlySet<string>, library?: string): Member | undefined {
    let best: Member | undefined;
    let bestLoad = Infinity;
    for (const m of this.#members.values()) {
      if (!m.healthy || !m.caps || exclude.has(m.address)) continue;
      if (library && !m.caps.modelLibraries.includes(library)) continue;
      const max = Math.max(1, m.caps.maxConcurrentJobs);
      if (m.inFlight >= max) continue;
      const load = (Math.max(m.inFlight, m.caps.runningJobs) + 1) / max;
      if (load < bestLoad) { best = m; bestLoad = load; }
    }
    return best;
  }

  /**
   * The least-loaded healthy worker not in `exclude` that has the model
   * library; waits (calling onWait once) while none is free.
   */
  async acquire(opts: { exclude?: ReadonlySet<string>; library?: string; signal?: AbortSignal; onWait?: (why: string) => void } = {}): Promise<WorkerLease> {
    let told = false;
    for (;;) {
      opts.signal?.throwIfAborted();
      const m = this.#pick(opts.exclude ?? new Set(), opts.library);
      if (m) {
        m.inFlight++;
        let released = false;
        return {
          address: m.address, client: m.client,
          release: () => { if (!released) { released = true; m.inFlight--; this.#wake(); } },
        };
      }
      if (!told) {
        told = true;
        const healthy = [...this.#members.values()].filter((x) => x.healthy).length;
        opts.onWait?.(healthy === 0 ? 'waiting for a worker: none is reachable' : 'waiting for a free worker');
      }
      await this.#waitForChange(opts.signal);
    }
  }

  #waitForChange(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); this.#waiters.delete(done); signal?.removeEventListener('abort', done); resolve(); };
      const timer = setTimeout(done, this.settings.refreshMs);
      this.#waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/** The worker's default port when workers_dns names no port. */
const WORKER_PORT = 50052;

function splitHostPort(value: string): [string, number] {
  const i = value.lastIndexOf(':');
  return i < 0 ? [value, WORKER_PORT] : [value.slice(0, i), Number(value.slice(i + 1))];
}

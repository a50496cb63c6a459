import { lookup } from 'node:dns/promises';
import type { GetCapabilitiesResponse } from '../../../libs/gen/aide/v1/worker.js';
import type { ClientOptions } from '../../../libs/grpc/index.js';
import { watchHealth, type HealthWatch } from '../../../libs/grpc/health-watch.js';
import type { Logger } from '../../../libs/log.js';
import { workerClient, type WorkerClient } from '../../../libs/worker-client/worker-client.js';

export interface PoolSettings {
  /** host:port of each worker. */
  staticAddresses: string[];
  /** "name[:port]": every address behind the name is a worker (a Kubernetes headless Service). */
  dns?: string;
  refreshMs: number;
  /**
   * How soon an unreachable or draining worker is asked again (default 2 s):
   * a restarted worker is used again this soon, not at the next refresh.
   */
  retryMs?: number;
  /** How to reach workers: TLS credentials and the mesh token (meshClientOptions). */
  client?: Pick<ClientOptions, 'credentials' | 'metadata'>;
  logger: Logger;
}

interface Member {
  address: string;
  client: WorkerClient;
  caps?: GetCapabilitiesResponse;
  /** When caps were answered (performance.now()). */
  capsAt: number;
  healthy: boolean;
  /** Jobs this controller has running there (capabilities lag behind). */
  inFlight: number;
  /** Its health stream while it is healthy: NOT_SERVING (draining) or a broken stream takes it out of rotation at once. */
  watch?: HealthWatch;
  probing?: Promise<void>;
}

const WORKER_SERVICE = 'aide.v1.WorkerService';
const DEFAULT_RETRY_MS = 2000;
/** A worker's answer about its running jobs is used for a pick this long; older, it is asked again. */
export const FRESH_MS = 100;

/** A worker held for one call; give it back with release(). */
export interface WorkerLease {
  address: string;
  client: WorkerClient;
  /** The id of the state folder the worker shares (its capabilities'; empty: none, or not known yet). */
  stateFolderId: string;
  release(): void;
}

/**
 * The workers this controller can dispatch to: from config and DNS, re-resolved
 * and re-asked for their capabilities periodically; jobs go to the healthy
 * one with the most free slots, as the candidates report them at that moment. Each healthy worker's health is
 * watched, so one that starts draining (SIGTERM) or dies is out of rotation
 * at once; unhealthy ones are asked again every retryMs, so a restarted
 * worker is back within seconds.
 */
export class WorkerPool {
  readonly #members = new Map<string, Member>();
  readonly #waiters = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #retryMs: number;

  constructor(readonly settings: PoolSettings) {
    this.#retryMs = settings.retryMs ?? DEFAULT_RETRY_MS;
  }

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
      if (!addresses.has(address) && m.inFlight === 0) { this.#drop(m); this.#members.delete(address); }
    }
    for (const address of addresses) {
      if (!this.#members.has(address)) {
        const client = workerClient(address, {
          ...this.settings.client,
          maxAttempts: 1,
          // The channel's own reconnect backoff (up to 2 min by default) would hide a restarted worker from the probes.
          channelOptions: { 'grpc.initial_reconnect_backoff_ms': Math.min(1000, this.#retryMs), 'grpc.max_reconnect_backoff_ms': this.#retryMs },
        });
        this.#members.set(address, { address, client, capsAt: 0, healthy: false, inFlight: 0 });
      }
    }
    await Promise.all([...this.#members.values()].map((m) => this.#probe(m)));
    this.#wake();
  }

  /** Asks the worker for its capabilities (one probe at a time per worker); healthy ones get their health watched. */
  #probe(m: Member): Promise<void> {
    m.probing ??= (async () => {
      try {
        m.caps = await m.client.getCapabilities({}, { deadline: 2000 });
        m.capsAt = performance.now();
        m.healthy = true;
        this.#watch(m);
      } catch {
        this.#outOfRotation(m);
      } finally {
        m.probing = undefined;
      }
    })();
    return m.probing;
  }

  #watch(m: Member): void {
    if (m.watch || !this.#members.has(m.address)) return;
    const watch = watchHealth(m.client.channel, WORKER_SERVICE, {
      onStatus: (status) => {
        if (status === 'SERVING') return;
        this.settings.logger.info({ worker: m.address, status }, 'worker draining: no new work goes there');
        // Ending the watch leaves the draining worker only the calls it is finishing.
        this.#outOfRotation(m);
      },
      onEnd: () => {
        if (m.watch === watch) this.#outOfRotation(m);
      },
    });
    m.watch = watch;
  }

  /** Takes the member out of rotation until a probe finds it again (every retryMs). */
  #outOfRotation(m: Member): void {
    m.healthy = false;
    const watch = m.watch;
    m.watch = undefined;
    watch?.cancel();
  }

  #drop(m: Member): void {
    this.#outOfRotation(m);
    m.client.close();
  }

  async #retryUnhealthy(): Promise<void> {
    const unhealthy = [...this.#members.values()].filter((m) => !m.healthy);
    await Promise.all(unhealthy.map((m) => this.#probe(m)));
    if (unhealthy.some((m) => m.healthy)) this.#wake();
  }

  start(): Promise<void> {
    this.#timer = setInterval(() => void this.refresh(), this.settings.refreshMs);
    this.#timer.unref();
    this.#retryTimer = setInterval(() => void this.#retryUnhealthy(), this.#retryMs);
    this.#retryTimer.unref();
    return this.refresh();
  }

  stop(): void {
    clearInterval(this.#timer);
    clearInterval(this.#retryTimer);
    const members = [...this.#members.values()];
    this.#members.clear();
    for (const m of members) this.#drop(m);
    this.#wake();
  }

  /** Healthy workers and what they report, for status messages and tests. */
  snapshot(): { address: string; healthy: boolean; inFlight: number; caps?: GetCapabilitiesResponse }[] {
    return [...this.#members.values()].map(({ address, healthy, inFlight, caps }) => ({ address, healthy, inFlight, caps }));
  }

  /** Asks a worker a call to which failed whether it is still there; out of rotation until a probe finds it again if not. */
  async suspect(address: string): Promise<boolean> {
    const m = this.#members.get(address);
    if (!m) return false;
    await this.#probe(m);
    return m.healthy;
  }

  /** The candidates a pick may choose from. */
  #candidates(exclude: ReadonlySet<string>, library?: string): Member[] {
    return [...this.#members.values()].filter((m) =>
      m.healthy && m.caps && !exclude.has(m.address) && (!library || m.caps.modelLibraries.includes(library)));
  }

  /**
   * Asks the candidates how many jobs they run now (GetCapabilities), unless
   * they answered within FRESH_MS: a view from the last refresh would still
   * count jobs that have ended and miss jobs other controllers started since.
   */
  async #freshen(candidates: readonly Member[]): Promise<void> {
    const now = performance.now();
    await Promise.all(candidates.filter((m) => now - m.capsAt > FRESH_MS).map((m) => this.#probe(m)));
  }

  /**
   * The candidate with the most free slots: its slots less the jobs it runs,
   * counting those this controller has sent that it may not have started
   * yet (inFlight); ties go to the one with fewer of ours.
   */
  #pick(candidates: readonly Member[]): Member | undefined {
    let best: Member | undefined;
    let bestLoad = Infinity;
    for (const m of candidates) {
      if (!m.healthy || !m.caps) continue;
      const max = Math.max(1, m.caps.maxConcurrentJobs);
      const busy = Math.max(m.inFlight, m.caps.runningJobs);
      if (busy >= max) continue;
      const load = (busy + 1) / max + m.inFlight / 1e6;
      if (load < bestLoad) { best = m; bestLoad = load; }
    }
    return best;
  }

  /**
   * The healthy worker not in `exclude` that has the model library and the
   * most free slots as it reports them now; waits (calling onWait once) while
   * none is free.
   */
  async acquire(opts: { exclude?: ReadonlySet<string>; library?: string; signal?: AbortSignal; onWait?: (why: string) => void } = {}): Promise<WorkerLease> {
    let told = false;
    for (;;) {
      opts.signal?.throwIfAborted();
      const candidates = this.#candidates(opts.exclude ?? new Set(), opts.library);
      await this.#freshen(candidates);
      const m = this.#pick(candidates);
      if (m) {
        m.inFlight++;
        let released = false;
        return {
          address: m.address, client: m.client, stateFolderId: m.caps?.stateFolderId ?? '',
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

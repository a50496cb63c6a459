/**
 * Data-parallel execution over worker threads: the WebAssembly backend runs
 * one thread per process in Node, so each replica owns a core. A batch is cut
 * into one shard per replica (images and their targets alike); gradients of
 * the summed loss add up to exactly those of the whole batch, and outputs are
 * concatenated in order.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { BackendName } from '../../libs/tf/backend.js';
import { siblingModule } from './module-url.js';
import type { Batch, ReplicaInit, ReplicaReply, ReplicaRequest } from './replica-protocol.js';
import { spawnWorker } from './spawn-worker.js';

const WORKER_URL = siblingModule(import.meta.url, 'replica-worker');

type Pending = { resolve: (reply: ReplicaReply) => void; reject: (err: Error) => void };

class Replica {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** False once the worker failed or exited. */
  alive = true;
  /** Id of the prediction weights this worker holds. */
  weights?: number;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: ReplicaReply) => {
      if (reply.kind === 'ready' || reply.id === undefined) return;
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.kind === 'error') p?.reject(new Error(`replica: ${reply.message}`));
      else p?.resolve(reply);
    });
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => this.failAll(new Error(`replica exited with code ${code}`)));
  }

  static start(init: ReplicaInit): Promise<{ replica: Replica; backend: BackendName }> {
    const worker = spawnWorker(WORKER_URL, { workerData: init });
    return new Promise((resolve, reject) => {
      const onMessage = (m: ReplicaReply) => {
        if (m.kind === 'ready') resolve({ replica: new Replica(worker), backend: m.backend });
        else if (m.kind === 'error') reject(new Error(`replica failed to start: ${m.message}`));
        if (m.kind === 'ready' || m.kind === 'error') worker.off('message', onMessage);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  }

  /** `transfer`: buffers that move to the worker instead of being copied (the caller must not use them after). */
  request<K extends ReplicaRequest['kind']>(req: Omit<Extract<ReplicaRequest, { kind: K }>, 'id'>, transfer: ArrayBuffer[] = []): Promise<Extract<ReplicaReply, { kind: K }>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: ReplicaReply) => void, reject });
      this.worker.postMessage({ ...req, id }, transfer);
    });
  }

  private failAll(err: Error): void {
    this.alive = false;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  /** Whether the worker keeps the process alive (an idle replica should not). */
  hold(held: boolean): void {
    if (held) this.worker.ref();
    else this.worker.unref();
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

export interface PoolOptions {
  networkModule: URL;
  arch: ReplicaInit['arch'];
  /** Worker threads; 0 = one per core. */
  threads?: number;
  backend?: ReplicaInit['backend'];
}

/** [start, end) image ranges, one per replica, as even as possible; empty shards are dropped. */
function shards(count: number, parts: number): [number, number][] {
  const ranges: [number, number][] = [];
  for (let i = 0; i < parts; i++) {
    const start = Math.round((i * count) / parts);
    const end = Math.round(((i + 1) * count) / parts);
    if (end > start) ranges.push([start, end]);
  }
  return ranges;
}

/**
 * A shard's images in a buffer of their own, to be transferred: posting a
 * view would copy its whole underlying buffer (the full batch, or whatever
 * larger array the batch was cut from) once per replica on the main thread.
 */
const shardOf = (batch: Batch, [start, end]: [number, number]): Batch => {
  const pixels = batch.size * batch.size * 3;
  return { images: batch.images.slice(start * pixels, end * pixels), count: end - start, size: batch.size };
};

const moved = (batch: Batch): ArrayBuffer[] => [batch.images.buffer as ArrayBuffer];

/** Parameters as posted: a view into a larger buffer is copied out first, for the same reason. */
const own = (params: Float32Array[]): Float32Array[] => params.map((p) => (p.byteLength === p.buffer.byteLength ? p : p.slice()));

/** Prediction batches queued at the replicas at once. */
const IN_FLIGHT = 2;

export class ReplicaPool {
  private nextWeights = 0;

  private constructor(
    private readonly replicas: Replica[],
    readonly backend: BackendName,
  ) {}

  static async start({ networkModule, arch, threads = 0, backend = 'auto' }: PoolOptions): Promise<ReplicaPool> {
    const n = threads > 0 ? threads : availableParallelism();
    const started = await Promise.allSettled(Array.from({ length: n }, () => Replica.start({ networkModule: networkModule.href, arch, backend })));
    const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(ok.map((s) => s.replica.terminate()));
      throw failed.reason;
    }
    return new ReplicaPool(ok.map((s) => s.replica), ok[0]!.backend);
  }

  get size(): number {
    return this.replicas.length;
  }

  /** Every replica still runs (none failed or exited). */
  get healthy(): boolean {
    return this.replicas.every((r) => r.alive);
  }

  /** Whether the pool's workers keep the process alive; an idle pool kept for reuse lets it exit. */
  hold(held: boolean): void {
    for (const r of this.replicas) r.hold(held);
  }

  /** Gradients of the summed loss over the batch, and that sum; `targets` holds count × per-image floats (Network.targetShape). */
  async gradients(params: Float32Array[], batch: Batch, targets: Float32Array): Promise<{ grads: Float32Array[]; lossSum: number }> {
    const perImage = targets.length / batch.count;
    const sent = own(params);
    const parts = await Promise.all(
      shards(batch.count, this.replicas.length).map(([start, end], i) => {
        const shard = shardOf(batch, [start, end]);
        const shardTargets = targets.slice(start * perImage, end * perImage);
        return this.replicas[i]!.request<'gradients'>({ kind: 'gradients', params: sent, batch: shard, targets: shardTargets }, [...moved(shard), shardTargets.buffer as ArrayBuffer]);
      }),
    );
    const grads = parts[0]!.grads;
    for (const part of parts.slice(1)) part.grads.forEach((g, t) => { const into = grads[t]!; for (let i = 0; i < g.length; i++) into[i]! += g[i]!; });
    return { grads, lossSum: parts.reduce((sum, p) => sum + p.lossSum, 0) };
  }

  /** Network.predict over the batch: [count, ...outputShape], row-major. */
  async predict(params: Float32Array[], batch: Batch): Promise<Float32Array> {
    for await (const outputs of this.predictAll(params, [batch])) return outputs;
    throw new Error('no prediction');
  }

  /**
   * Network.predict over each batch, in order, the parameters sent to each
   * replica once. The next batches are already queued at the replicas while
   * one is read (IN_FLIGHT), so no replica waits on a round trip between
   * two shards. The batches are pulled as needed: an iterator that throws
   * (say, on an abort) ends the run, leaving queued batches unread.
   */
  async *predictAll(params: Float32Array[], batches: Iterable<Batch>): AsyncGenerator<Float32Array> {
    // A copy: a replica that gets its first shard late still sees the parameters as they were at the start.
    const weights = { id: this.nextWeights++, params: params.map((p) => p.slice()) };
    const queued: Promise<Float32Array>[] = [];
    for (const batch of batches) {
      const outputs = this.predictBatch(weights, batch);
      // Awaited below, in order; this only keeps a failure of a batch queued behind another from counting as unhandled meanwhile.
      outputs.catch(() => {});
      queued.push(outputs);
      if (queued.length >= IN_FLIGHT) yield await queued.shift()!;
    }
    while (queued.length > 0) yield await queued.shift()!;
  }

  private async predictBatch(weights: { id: number; params: Float32Array[] }, batch: Batch): Promise<Float32Array> {
    const parts = await Promise.all(
      shards(batch.count, this.replicas.length).map((range, i) => {
        const replica = this.replicas[i]!;
        const shard = shardOf(batch, range);
        const sent = replica.weights === weights.id ? { id: weights.id } : weights;
        replica.weights = weights.id;
        return replica.request<'predict'>({ kind: 'predict', weights: sent, batch: shard }, moved(shard));
      }),
    );
    const outputs = new Float32Array(parts.reduce((n, p) => n + p.outputs.length, 0));
    let offset = 0;
    for (const { outputs: o } of parts) { outputs.set(o, offset); offset += o.length; }
    return outputs;
  }

  /** Live tensors per replica (a leak shows as growth between calls). */
  async numTensors(): Promise<number[]> {
    return Promise.all(this.replicas.map(async (r) => (await r.request<'memory'>({ kind: 'memory' })).numTensors));
  }

  async close(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.terminate()));
  }
}

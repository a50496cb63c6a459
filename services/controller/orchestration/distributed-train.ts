import type { ProgressEvent } from '../../../libs/gen/aide/v1/common.js';
import type { ImageData, TrainResult, UnreadableImage } from '../../../libs/gen/aide/v1/worker.js';
import { modelStateBytes } from '../../../libs/telemetry/metrics.js';
import { inSpan } from '../../../libs/telemetry/tracer.js';
import { averageStatesInto, trainInto, type ArrivingState, type JobHeaderBase, type StateInput, type StateSink } from '../../../libs/worker-client/worker-client.js';
import { stateSize } from '../../../libs/worker-client/requests.js';
import { onWorker, sharedFolder, type DispatchOptions } from './dispatch.js';
import { shardByPath } from './shards.js';

/** A state a round made, as far as the round needs it: its bytes for the next worker, and what it was trained on. */
export interface RoundState {
  state: StateInput;
  numImages: number;
  stats: Record<string, number>;
  labelClassMap: Record<string, number>;
}

/** A worker's new state as it streams in, with what the round knows of it. */
export interface RoundOutput {
  /** Images it was trained on (those sent less the unreadable ones). */
  numImages: number;
  /** Images the model could not read (none for an average). */
  unreadable: UnreadableImage[];
  stats: Record<string, number>;
  labelClassMap: Record<string, number>;
  /** Streamed pieces, verified as they pass (`pieces.sha256` is known once they have), or the part a worker wrote into the shared folder. */
  pieces: ArrivingState;
}

/**
 * Where a round keeps its states (the controller: partial states in the
 * database, so a resumed job continues where it stopped; tests: memory).
 */
export interface RoundStore<S extends RoundState> {
  /** A shard's state kept by an earlier run of this round (a resumed job): that shard is not trained again. */
  storedShard(index: number): S | undefined;
  saveShard(index: number, output: RoundOutput): Promise<S>;
  /** The round's outcome: the average of its shards, or the only shard's state. */
  saveRound(output: RoundOutput): Promise<S>;
}

/** Counts one worker call's state bytes: those sent as it starts (retries send again), those received as it returns. */
function counted<T>(phase: 'train' | 'average', sentBytes: number, output: Promise<{ result: TrainResult; stored: T }>): Promise<T> {
  modelStateBytes.inc({ direction: 'to_worker', phase }, sentBytes);
  return output.then((o) => {
    modelStateBytes.inc({ direction: 'from_worker', phase }, o.result.stateSize);
    return o.stored;
  });
}

/** Image counts (`images`, `heldOutImages`, …): the round's is the shards' sum, not their mean. */
const isImageCount = (key: string): boolean => key === 'images' || key.endsWith('Images');

/**
 * The round's statistics from its shards': image counts add up, `seconds` is
 * the slowest shard's (they run side by side), and every other statistic
 * (loss, accuracy) is the shards' mean weighted by their images.
 */
export function roundStats(parts: readonly Pick<RoundState, 'numImages' | 'stats'>[]): Record<string, number> {
  const total = parts.reduce((n, p) => n + p.numImages, 0);
  const stats: Record<string, number> = {};
  for (const p of parts) {
    for (const [key, v] of Object.entries(p.stats)) {
      if (isImageCount(key)) stats[key] = (stats[key] ?? 0) + v;
      else if (key === 'seconds') stats[key] = Math.max(stats[key] ?? 0, v);
      else stats[key] = (stats[key] ?? 0) + v * p.numImages / Math.max(1, total);
    }
  }
  return stats;
}

/**
 * One training round over K workers: each trains a disjoint shard from the
 * same input state; exactly one worker then averages the K states weighted by
 * shard size. K = 1 skips averaging. Every state streams from the workers
 * into `store` and from there to the next worker: the controller never holds
 * one whole.
 */
export async function trainRound<S extends RoundState>(opts: {
  dispatch: Omit<DispatchOptions, 'what'>;
  header: JobHeaderBase;
  images: readonly ImageData[];
  input: StateInput | null;
  numWorkers: number;
  store: RoundStore<S>;
  /** Progress of each shard's worker (shard index from 0), and of averaging (index = K). */
  onProgress?: (part: number, parts: number, event: ProgressEvent) => void;
}): Promise<S> {
  const shards = shardByPath(opts.images, opts.numWorkers);
  const k = shards.length;
  const { store } = opts;
  // A shard that fails ends the round: the others stop too instead of finishing (and storing) for nothing,
  // and the round ends with the first failure once they have stopped.
  const failed = new AbortController();
  let firstFailure: { err: unknown } | undefined;
  const dispatch = { ...opts.dispatch, signal: AbortSignal.any([opts.dispatch.signal, failed.signal]) };
  const sink = (save: (output: RoundOutput) => Promise<S>): StateSink<S> => (result, pieces) =>
    save({ numImages: result.numImages, unreadable: result.unreadable, stats: result.stats, labelClassMap: result.labelClassMap, pieces });
  const trainShard = (images: readonly ImageData[], i: number): Promise<S> => inSpan('train shard', { attributes: { 'aide.shard': i, 'aide.images': images.length } }, () =>
    onWorker({ ...dispatch, what: `shard ${i + 1}/${k}` }, (lease) =>
      counted('train', stateSize(opts.input), trainInto(lease.client, { ...opts.header, jobId: `${opts.header.jobId}-s${i}` }, images, opts.input,
        sink(k === 1 ? (o) => store.saveRound(o) : (o) => store.saveShard(i, o)),
        { signal: dispatch.signal, sharedFolder: sharedFolder(lease, dispatch), onProgress: (e) => opts.onProgress?.(i, k, e) }))).catch((err: unknown) => {
    firstFailure ??= { err };
    failed.abort(err);
    throw err;
  }));
  // Gathering ends when the slowest shard's state is back: its span shows the stragglers.
  const settled = await inSpan('gather', { attributes: { 'aide.shards': k } }, () =>
    Promise.allSettled(shards.map((images, i) => (k > 1 && store.storedShard(i)) || trainShard(images, i))));
  if (firstFailure) throw firstFailure.err;
  const parts = settled.map((r) => (r as PromiseFulfilledResult<S>).value);
  if (k === 1) return parts[0]!;
  const stats = roundStats(parts);
  return inSpan('average', { attributes: { 'aide.shards': k } }, () => onWorker({ ...opts.dispatch, what: 'averaging' }, (lease) =>
    counted('average', parts.reduce((n, p) => n + stateSize(p.state), 0),
      averageStatesInto(lease.client, { ...opts.header, jobId: `${opts.header.jobId}-avg` },
        parts.map((p) => ({ state: p.state, numImages: p.numImages })),
        (result, pieces) => store.saveRound({ numImages: result.numImages, unreadable: [], stats, labelClassMap: result.labelClassMap, pieces }),
        { signal: opts.dispatch.signal, sharedFolder: sharedFolder(lease, opts.dispatch), onProgress: (e) => opts.onProgress?.(k, k, e) }))));
}

import type { ProgressEvent } from '../../../libs/gen/aide/v1/common.js';
import type { ImageData, JobHeader } from '../../../libs/gen/aide/v1/worker.js';
import { modelStateBytes } from '../../../libs/telemetry/metrics.js';
import { inSpan } from '../../../libs/telemetry/tracer.js';
import { averageStates, train, type StateOutput } from '../../../libs/worker-client/worker-client.js';
import { onWorker, type DispatchOptions } from './dispatch.js';
import { shard } from './shards.js';

export type JobHeaderBase = Omit<JobHeader, 'numImages' | 'stateSize'>;

export interface TrainedState {
  state: Buffer;
  stats: Record<string, number>;
  numImages: number;
  labelClassMap: Record<string, number>;
  /** Per-shard outputs (for inspection and tests). */
  shards: { numImages: number; state: Buffer }[];
}

/** Counts one worker call's state bytes: those sent as it starts (retries send again), those received as it returns. */
function counted(phase: 'train' | 'average', sentBytes: number, output: Promise<StateOutput>): Promise<StateOutput> {
  modelStateBytes.inc({ direction: 'to_worker', phase }, sentBytes);
  return output.then((o) => {
    modelStateBytes.inc({ direction: 'from_worker', phase }, o.state.length);
    return o;
  });
}

/**
 * One training round over K workers: each trains a disjoint shard from the
 * same input state; exactly one worker then averages the K states weighted by
 * shard size. K = 1 skips averaging.
 */
export async function trainDistributed(opts: {
  dispatch: Omit<DispatchOptions, 'what'>;
  header: JobHeaderBase;
  images: readonly ImageData[];
  state: Buffer | null;
  numWorkers: number;
  /** Progress of each shard's worker (shard index from 0), and of averaging (index = K). */
  onProgress?: (part: number, parts: number, event: ProgressEvent) => void;
}): Promise<TrainedState> {
  const shards = shard(opts.images, opts.numWorkers);
  const k = shards.length;
  const trainShard = (images: readonly ImageData[], i: number) => inSpan('train shard', { attributes: { 'aide.shard': i, 'aide.images': images.length } }, () =>
    onWorker({ ...opts.dispatch, what: `shard ${i + 1}/${k}` }, (lease) =>
      counted('train', opts.state?.length ?? 0, train(lease.client, { ...opts.header, jobId: `${opts.header.jobId}-s${i}` }, images, opts.state, {
        signal: opts.dispatch.signal, onProgress: (e) => opts.onProgress?.(i, k, e),
      }))));
  // Gathering ends when the slowest shard's state is back: its span shows the stragglers.
  const outputs: StateOutput[] = await inSpan('gather', { attributes: { 'aide.shards': k } }, () => Promise.all(shards.map(trainShard)));
  const perShard = outputs.map((o, i) => ({ numImages: shards[i]!.length, state: o.state }));
  // Each shard's statistics, weighted by its images, make the round's statistics.
  const stats: Record<string, number> = {};
  for (const [i, o] of outputs.entries()) {
    for (const [key, v] of Object.entries(o.result.stats)) stats[key] = (stats[key] ?? 0) + v * shards[i]!.length / opts.images.length;
  }
  if (k === 1) {
    const only = outputs[0]!;
    return { state: only.state, stats, numImages: opts.images.length, labelClassMap: only.result.labelClassMap, shards: perShard };
  }
  const averaged = await inSpan('average', { attributes: { 'aide.shards': k } }, () => onWorker({ ...opts.dispatch, what: 'averaging' }, (lease) =>
    counted('average', perShard.reduce((n, s) => n + s.state.length, 0),
      averageStates(lease.client, { ...opts.header, jobId: `${opts.header.jobId}-avg`, numImages: 0, stateSize: 0 },
        perShard.map((s) => ({ state: s.state, numImages: s.numImages })),
        { signal: opts.dispatch.signal, onProgress: (e) => opts.onProgress?.(k, k, e) }))));
  return { state: averaged.state, stats, numImages: opts.images.length, labelClassMap: averaged.result.labelClassMap, shards: perShard };
}

import type { PluginContext, PluginOptions } from '../../libs/plugin/context.js';
import type { RankData } from '../../libs/plugin/data.js';
import type { PluginMetadataInput } from '../../libs/plugin/metadata.js';
import type { BatchRanker, PoolSelection, RankExtra, UpdateState, VerifyOptionsResult } from '../../libs/plugin/plugin.js';
import { batchDefaults, batchOptions, verifyBatchOptions, type BatchOptions } from './batch-options.js';
import { argmax, readEmbeddingPool, rowNorms, type RowMatrix } from './embedding-pool.js';

/**
 * Lowers minDist[i] to the squared distance from candidate i to the centre c
 * (of squared norm cNorm), for every candidate: ‖x‖² + ‖c‖² − 2 x·c, the dot
 * products all in one SIMD call.
 */
export function coverBy(minDist: Float32Array, x: RowMatrix, xNorms: Float32Array, c: ArrayLike<number>, cNorm: number): void {
  const dots = x.dotsWith(c);
  for (let i = 0; i < minDist.length; i++) {
    const d = xNorms[i]! + cNorm - 2 * dots[i]!;
    if (d < minDist[i]!) minDist[i] = d > 0 ? d : 0;
  }
}

/** The candidate farthest from the candidates' mean: the first centre when no image is annotated. */
function farthestFromMean(x: RowMatrix): number {
  const mean = new Float64Array(x.cols);
  for (let i = 0; i < x.rows * x.cols; i++) mean[i % x.cols]! += x.data[i]! / x.rows;
  const d = new Float32Array(x.rows);
  for (let i = 0; i < x.rows; i++) {
    let s = 0;
    for (let j = 0; j < x.cols; j++) s += (x.data[i * x.cols + j]! - mean[j]!) ** 2;
    d[i] = s;
  }
  return argmax(d);
}

/**
 * k-center greedy selection (Sener & Savarese, "Active learning for
 * convolutional neural networks: a core-set approach", 2018): the annotated
 * images are the centres; each pick is the candidate farthest from every
 * centre, which then becomes one. The batch covers the embedding space
 * instead of piling up in one region, so near-duplicates are not picked
 * twice. Memory: one float32 distance per candidate beside the pool's
 * embeddings (no n × n matrix); time: (annotated + batch) × candidates ×
 * dim multiply-adds.
 *
 * Returns the picks in order; `rest` gives every other candidate its
 * distance to the nearest centre after the batch, divided by the largest (so
 * the next batch would start with the first of them).
 */
export function kCenterGreedy(
  x: RowMatrix, centres: RowMatrix, k: number,
  progress: (done: number, total: number) => void = () => {}, signal?: AbortSignal,
): { picks: number[]; minDist: Float32Array } {
  const n = x.rows;
  const xNorms = rowNorms(x);
  const cNorms = rowNorms(centres);
  const minDist = new Float32Array(n).fill(Infinity);
  const total = centres.rows + Math.min(k, n);
  for (let c = 0; c < centres.rows; c++) {
    signal?.throwIfAborted();
    coverBy(minDist, x, xNorms, centres.row(c), cNorms[c]!);
    if (c % 64 === 63) progress(c + 1, total);
  }
  const picks: number[] = [];
  for (let t = 0; t < Math.min(k, n); t++) {
    signal?.throwIfAborted();
    const pick = t === 0 && centres.rows === 0 ? farthestFromMean(x) : argmax(minDist);
    picks.push(pick);
    coverBy(minDist, x, xNorms, x.row(pick), xNorms[pick]!);
    minDist[pick] = -Infinity; // never again: exact duplicates of it sit at distance 0, not below
    progress(centres.rows + t + 1, total);
  }
  return { picks, minDist };
}

/** Each candidate's value scaled by the largest (0 where all are 0); picks (−∞) to 0. */
export function normalizedRest(ids: readonly string[], values: Float32Array | Float64Array): (id: string) => number {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  const index = new Map(ids.map((id, i) => [id, i]));
  return (id) => {
    const i = index.get(id);
    const v = i === undefined ? 0 : values[i]!;
    return max > 0 && v > 0 ? Math.min(1, v / max) : 0;
  };
}

export class CoresetRanker implements BatchRanker {
  static readonly metadata: PluginMetadataInput = {
    kind: 'ranker',
    key: 'builtin.coreset',
    name: 'Core-set (diversity)',
    author: 'AIDE',
    description: 'Selects a batch that covers the images\' embeddings (k-center greedy from the annotated images): spread-out images instead of near-duplicates. Needs a model that gives embeddings (the built-ins do); predict the annotated images too (include_annotated) to start from them.',
    predictionType: ['labels', 'points', 'boundingBoxes', 'segmentationMasks'],
  };

  static getDefaultOptions(): string {
    return JSON.stringify(batchDefaults(false), null, 2);
  }

  static verifyOptions(options: PluginOptions): VerifyOptionsResult {
    return verifyBatchOptions(options, false);
  }

  private readonly options: BatchOptions;

  constructor(ctx: PluginContext) {
    this.options = batchOptions(ctx.options);
  }

  async selectBatch(pool: AsyncIterable<RankData>, updateState: UpdateState, extra?: RankExtra): Promise<PoolSelection> {
    const { ids, candidates, centres } = await readEmbeddingPool(pool, CoresetRanker.metadata.key, extra);
    const { picks, minDist } = kCenterGreedy(candidates, centres, this.options.batchSize,
      (done, total) => updateState('PROGRESS', 'selecting', done, total), extra?.signal);
    return { selected: picks.map((i) => ids[i]!), rest: normalizedRest(ids, minDist) };
  }
}

import seedrandom from 'seedrandom';
import type { PluginContext, PluginOptions } from '../../libs/plugin/context.js';
import { isSegmentationPrediction, type ImageOutput, type RankData } from '../../libs/plugin/data.js';
import type { PluginMetadataInput } from '../../libs/plugin/metadata.js';
import type { BatchRanker, PoolSelection, RankExtra, UpdateState, VerifyOptionsResult } from '../../libs/plugin/plugin.js';
import { batchDefaults, batchOptions, verifyBatchOptions, type BatchOptions } from './batch-options.js';
import { normalizedRest } from './coreset.js';
import { argmax, readEmbeddingPool, rowNorms, type RowMatrix } from './embedding-pool.js';
import { predictionProbabilities } from './probabilities.js';
import { topTwo } from './uncertainty-ranker.js';

/**
 * The class-probability residual a = p − onehot(argmax p) of an image's most
 * uncertain prediction (smallest margin p₁ − p₂): the gradient of the
 * cross-entropy loss at the model's own guess with respect to the logits.
 * The image has at least one prediction (readEmbeddingPool's candidates do).
 */
export function residual(image: ImageOutput): Float64Array {
  let best: Float64Array | undefined;
  let bestMargin = Infinity;
  for (const prediction of image.predictions) {
    if (isSegmentationPrediction(prediction)) throw new Error('builtin.badge does not rank segmentation predictions');
    const p = predictionProbabilities(prediction);
    const [first, second] = topTwo(p);
    if (first - second < bestMargin) {
      bestMargin = first - second;
      best = p;
    }
  }
  if (!best) throw new Error('an image without predictions has no residual');
  const a = Float64Array.from(best);
  a[argmax(a)]! -= 1;
  return a;
}

/**
 * BADGE (Ash et al., "Deep batch active learning by diverse, uncertain
 * gradient lower bounds", ICLR 2020): k-means++ seeding on the gradient
 * embeddings g = a ⊗ h (a the residual above, h the image embedding), so a
 * batch is both uncertain (large ‖g‖) and diverse (far apart). g has
 * classes × dim values, too many to hold for 10⁵ images; it is never built:
 * g_i · g_j = (a_i · a_j)(h_i · h_j), so every distance takes one dot product
 * of residuals and one of embeddings. Memory: the pool's embeddings and
 * residuals plus one float32 distance per candidate; time: batch ×
 * candidates × (classes + dim).
 *
 * The first pick has the largest ‖g‖; each next one is drawn with
 * probability proportional to its squared distance to the nearest pick
 * (seeded). `rest` is that distance after the batch, divided by the largest.
 */
export function badgeSelect(
  h: RowMatrix, a: RowMatrix, k: number, random: () => number,
  progress: (done: number, total: number) => void = () => {}, signal?: AbortSignal,
): { picks: number[]; minDist: Float32Array } {
  const n = h.rows;
  const hNorms = rowNorms(h);
  const aNorms = rowNorms(a);
  const gNorms = new Float32Array(n);
  for (let i = 0; i < n; i++) gNorms[i] = hNorms[i]! * aNorms[i]!;
  const minDist = new Float32Array(n).fill(Infinity);
  const picks: number[] = [];
  const total = Math.min(k, n);
  for (let t = 0; t < total; t++) {
    signal?.throwIfAborted();
    const pick = t === 0 ? argmax(gNorms) : sample(minDist, random);
    picks.push(pick);
    const hDots = h.dotsWith(h.row(pick));
    const aDots = a.dotsWith(a.row(pick));
    for (let i = 0; i < n; i++) {
      const d = gNorms[i]! + gNorms[pick]! - 2 * aDots[i]! * hDots[i]!;
      if (d < minDist[i]!) minDist[i] = d > 0 ? d : 0;
    }
    minDist[pick] = -Infinity;
    progress(t + 1, total);
  }
  return { picks, minDist };
}

/** An index drawn with probability ∝ weights (those ≤ 0 never); the largest weight where all are 0. */
function sample(weights: Float32Array, random: () => number): number {
  let sum = 0;
  for (const w of weights) if (w > 0) sum += w;
  if (!(sum > 0)) return argmax(weights);
  let target = random() * sum;
  let last = -1;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i]!;
    if (!(w > 0)) continue;
    last = i;
    target -= w;
    if (target < 0) return i;
  }
  return last; // rounding left a sliver at the end
}

export class BadgeRanker implements BatchRanker {
  static readonly metadata: PluginMetadataInput = {
    kind: 'ranker',
    key: 'builtin.badge',
    name: 'BADGE (uncertainty × diversity)',
    author: 'AIDE',
    description: 'Selects a batch that is both uncertain and diverse: k-means++ seeding on gradient embeddings (class-probability residual × image embedding). Needs a model that gives embeddings (the built-ins do).',
    predictionType: ['labels', 'points', 'boundingBoxes'],
  };

  static getDefaultOptions(): string {
    return JSON.stringify(batchDefaults(true), null, 2);
  }

  static verifyOptions(options: PluginOptions): VerifyOptionsResult {
    return verifyBatchOptions(options, true);
  }

  private readonly options: BatchOptions;

  constructor(ctx: PluginContext) {
    this.options = batchOptions(ctx.options);
  }

  async selectBatch(pool: AsyncIterable<RankData>, updateState: UpdateState, extra?: RankExtra): Promise<PoolSelection> {
    const { ids, candidates, extras } = await readEmbeddingPool(pool, BadgeRanker.metadata.key, extra, residual);
    if (ids.length === 0 || !extras) return { selected: [] };
    const { picks, minDist } = badgeSelect(candidates, extras, this.options.batchSize, seedrandom(String(this.options.seed)),
      (done, total) => updateState('PROGRESS', 'selecting', done, total), extra?.signal);
    return { selected: picks.map((i) => ids[i]!), rest: normalizedRest(ids, minDist) };
  }
}

/**
 * The training loop every built-in model shares: seeded shuffling,
 * mini-batches with augmentation (targets encoded by the model's
 * TargetEncoder under the same draw), data-parallel gradients from the
 * replica pool, Adam updates at the learning rate of the schedule; cancellation between batches and progress per
 * batch. While replicas compute one batch, the main thread assembles the next.
 */
import seedrandom from 'seedrandom';
import type { UpdateState } from '../../libs/plugin/plugin.js';
import { Adam } from './adam.js';
import type { Augmentations } from './augment.js';
import { makeTrainingBatch, type Example, type TargetEncoder } from './batch.js';
import type { ReplicaPool } from './replica-pool.js';

/**
 * How the learning rate moves over a training run. `anneal` keeps it for the first four fifths of the batches,
 * then lowers it along half a cosine to zero at the last one ("warmup-stable-decay" without the warmup): the run
 * ends in small steps instead of wherever the last full-size steps left it, at nearly the full rate's progress.
 * `cosine` decays over the whole run (half the mean rate: short runs undertrain), `constant` never does. Each
 * model picks its default (the classifier anneals; classifier/settings.ts says why).
 */
export type LearningRateSchedule = 'anneal' | 'cosine' | 'constant';

/** The fraction of the run `anneal` decays over. */
export const ANNEAL_FRACTION = 0.2;

const halfCosine = (progress: number): number => 0.5 * (1 + Math.cos(Math.PI * progress));

/** The learning-rate factor of batch `b` of `total`. */
export function scheduleFactor(schedule: LearningRateSchedule, b: number, total: number): number {
  if (schedule === 'cosine') return halfCosine(b / total);
  if (schedule === 'anneal') {
    const from = total * (1 - ANNEAL_FRACTION);
    return b < from ? 1 : halfCosine((b - from) / (total - from));
  }
  return 1;
}

export interface LoopSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  schedule: LearningRateSchedule;
  weightDecay: number;
  augment: Augmentations;
  seed: number;
  /** Side of the (square) stored images. */
  size: number;
}

export interface LoopResult {
  /** Mean training loss of the last epoch. */
  trainLoss: number;
  batches: number;
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Trains `params` (in place) on `examples`, whose targets `encoder` writes. */
export async function trainLoop<T>(
  pool: ReplicaPool,
  params: Float32Array[],
  examples: readonly Example<T>[],
  encoder: TargetEncoder<T>,
  settings: LoopSettings,
  updateState: UpdateState,
  signal?: AbortSignal,
): Promise<LoopResult> {
  const random = seedrandom(String(settings.seed));
  const adam = new Adam(params, settings);
  const perEpoch = Math.ceil(examples.length / settings.batchSize);
  // Batches do not straddle epochs: the last one of an epoch may be smaller.
  const plan: Example<T>[][] = [];
  for (let epoch = 0; epoch < settings.epochs; epoch++) {
    const order = shuffled(examples, random);
    for (let i = 0; i < order.length; i += settings.batchSize) plan.push(order.slice(i, i + settings.batchSize));
  }
  const prepare = (chunk: Example<T>[]) => makeTrainingBatch(chunk, settings.size, settings.augment, encoder, random);
  let lossSum = 0;
  let seen = 0;
  let next = plan.length > 0 ? prepare(plan[0]!) : undefined;
  for (let b = 0; b < plan.length && next; b++) {
    signal?.throwIfAborted();
    if (b % perEpoch === 0) { lossSum = 0; seen = 0; }
    const { batch, targets } = next;
    const pending = pool.gradients(params, batch, targets);
    next = b + 1 < plan.length ? prepare(plan[b + 1]!) : undefined;
    const { grads, lossSum: batchLoss } = await pending;
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i]! /= batch.count;
    adam.step(params, grads, scheduleFactor(settings.schedule, b, plan.length));
    lossSum += batchLoss;
    seen += batch.count;
    const epoch = Math.floor(b / perEpoch) + 1;
    updateState('PROGRESS', `training: epoch ${epoch}/${settings.epochs}, loss ${(lossSum / seen).toFixed(4)}`, b + 1, plan.length);
  }
  return { trainLoss: seen > 0 ? lossSum / seen : NaN, batches: plan.length };
}

/**
 * What the shared runtime needs of a built-in network. A network lives in a
 * module exporting `createNetwork(arch)`, so replica workers can rebuild it
 * from the state's architecture alone.
 *
 * The runtime is task-agnostic: every image comes with a dense float target
 * of `targetShape` (a one-hot class vector, heatmaps, a mask …) and the
 * network says how to score a batch against its targets (`loss`) and what it
 * outputs for inference (`predict`). The model supplies a TargetEncoder
 * (train-loop.ts) that writes each example's target after the same geometric
 * augmentation as its image (augment.ts: mapPoint, warpNearest).
 *
 * Contract of `loss`: the SUM over the batch of per-image losses (not the
 * mean), so that shards computed by different replicas add up to exactly the
 * whole batch's loss and gradient; the train loop divides by the batch size.
 */
import type * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import type { NamedTensor, TensorSpec } from './state-format.js';

export type Arch = Record<string, number | string>;

/** A parameter and how a fresh network initializes it (a number: every value that constant). */
export interface ParamSpec extends TensorSpec {
  init: 'he' | 'zeros' | 'ones' | number;
}

export interface Network {
  readonly specs: readonly ParamSpec[];
  /** Shape of one image's target, e.g. [classes] or [h, w, channels]. */
  readonly targetShape: readonly number[];
  /**
   * Summed loss of images [n, h, w, 3] (values in [0, 1]) against targets
   * [n, ...targetShape]; params in specs order. Differentiable in params.
   */
  loss(params: readonly tf.Tensor[], images: tf.Tensor4D, targets: tf.Tensor): tf.Scalar;
  /** Inference output [n, ...outputShape] (e.g. probabilities, heatmaps). */
  predict(params: readonly tf.Tensor[], images: tf.Tensor4D): tf.Tensor;
}

export type NetworkModule = { createNetwork(arch: Arch): Network };

/** Fresh parameters: He-normal (fan-in = all but the last axis), zeros, ones or a constant. Seeded, so a run is reproducible. */
export function initialParameters(specs: readonly ParamSpec[], seed: number): NamedTensor[] {
  const random = seedrandom(String(seed));
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return specs.map(({ name, shape, init }) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (init === 'ones') data.fill(1);
    if (typeof init === 'number') data.fill(init);
    if (init === 'he') {
      const std = Math.sqrt(2 / (data.length / shape[shape.length - 1]!));
      for (let i = 0; i < data.length; i++) data[i] = normal() * std;
    }
    return { name, shape: [...shape], data };
  });
}

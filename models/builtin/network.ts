/**
 * What the shared runtime needs of a built-in network: its parameter list
 * and a forward pass to logits. A network lives in a module exporting
 * `createNetwork(arch)`, so replica workers can rebuild it from the state's
 * architecture alone.
 */
import type * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import type { NamedTensor, TensorSpec } from './state-format.js';

export type Arch = Record<string, number | string>;

/** A parameter and how a fresh network initializes it. */
export interface ParamSpec extends TensorSpec {
  init: 'he' | 'zeros' | 'ones';
}

export interface Network {
  readonly specs: readonly ParamSpec[];
  /** Logits [n, classes] of images [n, h, w, 3] with values in [0, 1]; params in specs order. */
  logits(params: readonly tf.Tensor[], images: tf.Tensor4D): tf.Tensor2D;
}

export type NetworkModule = { createNetwork(arch: Arch): Network };

/** Fresh parameters: He-normal (fan-in = all but the last axis), zeros or ones. Seeded, so a run is reproducible. */
export function initialParameters(specs: readonly ParamSpec[], seed: number): NamedTensor[] {
  const random = seedrandom(String(seed));
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return specs.map(({ name, shape, init }) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (init === 'ones') data.fill(1);
    if (init === 'he') {
      const std = Math.sqrt(2 / (data.length / shape[shape.length - 1]!));
      for (let i = 0; i < data.length; i++) data[i] = normal() * std;
    }
    return { name, shape: [...shape], data };
  });
}

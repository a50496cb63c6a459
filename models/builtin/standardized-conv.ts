/**
 * Building blocks the built-in networks share. Convolutions use scaled weight
 * standardization (as normalizer-free nets): each filter is standardized and
 * scaled by a learned gain, which trains as well as group norm here without
 * touching activations. That matters on WebAssembly, where broadcasting over
 * large activations is ~30× slower than the convolutions, and it keeps
 * replicas stateless (no running statistics).
 */
import * as tf from '@tensorflow/tfjs';
import type { ParamSpec } from './network.js';

/** A standardized convolution's parameters: kernel, gain and bias. */
export function convSpecs(name: string, kh: number, kw: number, cin: number, cout: number): ParamSpec[] {
  return [
    { name: `${name}/kernel`, shape: [kh, kw, cin, cout], init: 'he' },
    { name: `${name}/gain`, shape: [cout], init: 'ones' },
    { name: `${name}/bias`, shape: [cout], init: 'zeros' },
  ];
}

const EPSILON = 1e-6;

/**
 * W' = gain · √2 · (W − mean) / √((var + ε) · fanIn), per output channel
 * (the last axis; √2: ReLU's gain). Kernels are small, so value and
 * gradient are computed in JS in one pass each: as tf ops they took ~40
 * kernel calls per convolution, a quarter of a small U-Net's training step.
 */
export const standardizedKernel = tf.customGrad((...[kernelArg, gainArg]: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const kernel = kernelArg as tf.Tensor4D;
  const w = kernel.dataSync() as Float32Array;
  const g = (gainArg as tf.Tensor).dataSync() as Float32Array;
  const outputs = g.length;
  const n = w.length / outputs;
  const mean = new Float64Array(outputs);
  const variance = new Float64Array(outputs);
  for (let i = 0; i < w.length; i++) mean[i % outputs]! += w[i]! / n;
  for (let i = 0; i < w.length; i++) variance[i % outputs]! += (w[i]! - mean[i % outputs]!) ** 2 / n;
  const scale = Float64Array.from(variance, (v, o) => (g[o]! * Math.SQRT2) / Math.sqrt((v + EPSILON) * n));
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = (w[i]! - mean[i % outputs]!) * scale[i % outputs]!;
  return {
    value: tf.tensor4d(out, kernel.shape),
    gradFunc: (dy: tf.Tensor) => {
      // With x̂ = w − mean and a = scale: dW = a·(dy − mean(dy)) − a·x̂·Σ(dy·x̂) / (n·(var + ε)); dgain = a·Σ(dy·x̂) / gain.
      const d = dy.dataSync() as Float32Array;
      const sum = new Float64Array(outputs);
      const dot = new Float64Array(outputs);
      for (let i = 0; i < d.length; i++) { sum[i % outputs]! += d[i]!; dot[i % outputs]! += d[i]! * (w[i]! - mean[i % outputs]!); }
      const dw = new Float32Array(w.length);
      for (let i = 0; i < w.length; i++) {
        const o = i % outputs;
        dw[i] = scale[o]! * (d[i]! - sum[o]! / n - ((w[i]! - mean[o]!) * dot[o]!) / (n * (variance[o]! + EPSILON)));
      }
      const dg = Float32Array.from(dot, (v, o) => (Math.SQRT2 * v) / Math.sqrt((variance[o]! + EPSILON) * n));
      return [tf.tensor4d(dw, kernel.shape), tf.tensor(dg, [outputs])];
    },
  };
}) as (kernel: tf.Tensor4D, gain: tf.Tensor) => tf.Tensor4D;

/**
 * Per-image standardization: brightness and contrast stop mattering, which
 * spares a small network (without batch norm) a long plateau.
 */
export function standardizeImages(images: tf.Tensor4D): tf.Tensor4D {
  const { mean, variance } = tf.moments(images, [1, 2, 3], true);
  return tf.div(tf.sub(images, mean), tf.sqrt(tf.add(variance, 1e-3)));
}

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

/** W' = gain · √2 · (W − mean) / (std · √fanIn), per output channel (√2: ReLU's gain). */
export function standardizedKernel(kernel: tf.Tensor4D, gain: tf.Tensor): tf.Tensor4D {
  const [kh, kw, cin] = kernel.shape;
  const { mean, variance } = tf.moments(kernel, [0, 1, 2], true);
  const scale = tf.mul(gain, tf.div(Math.SQRT2, tf.sqrt(tf.mul(tf.add(variance, 1e-6), kh * kw * cin))));
  return tf.mul(tf.sub(kernel, mean), scale);
}

/**
 * Per-image standardization: brightness and contrast stop mattering, which
 * spares a small network (without batch norm) a long plateau.
 */
export function standardizeImages(images: tf.Tensor4D): tf.Tensor4D {
  const { mean, variance } = tf.moments(images, [1, 2, 3], true);
  return tf.div(tf.sub(images, mean), tf.sqrt(tf.add(variance, 1e-3)));
}

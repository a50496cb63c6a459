/**
 * The weight-standardized kernel computed in JS (value and hand-written
 * gradient) against the same formula as plain tf ops differentiated by tf:
 * relative error (max |a − b| / max |b|) < 1e-5, on the cpu backend.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { standardizedKernel } from '../../models/builtin/standardized-conv.js';

/** The formula as tf ops: W' = gain · √2 · (W − mean) / √((var + 1e-6) · fanIn), per output channel. */
function reference(kernel: tf.Tensor4D, gain: tf.Tensor): tf.Tensor4D {
  const [kh, kw, cin] = kernel.shape;
  const { mean, variance } = tf.moments(kernel, [0, 1, 2], true);
  const scale = tf.mul(gain, tf.div(Math.SQRT2, tf.sqrt(tf.mul(tf.add(variance, 1e-6), kh * kw * cin))));
  return tf.mul(tf.sub(kernel, mean), scale);
}

function relativeError(a: tf.Tensor, b: tf.Tensor): number {
  const [x, y] = [a.dataSync(), b.dataSync()];
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < x.length; i++) { diff = Math.max(diff, Math.abs(x[i]! - y[i]!)); scale = Math.max(scale, Math.abs(y[i]!)); }
  return diff / scale;
}

describe('standardized kernels', () => {
  before(() => tf.setBackend('cpu'));

  for (const shape of [[3, 3, 3, 8], [3, 3, 24, 8], [1, 1, 5, 2]] as [number, number, number, number][]) {
    it(`match tf's ops in value and gradient, kernel [${shape}]`, () => tf.tidy(() => {
      const random = seedrandom(shape.join());
      const kernel = tf.tensor4d(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => random() * 2 - 1), shape);
      const gain = tf.tensor1d(Float32Array.from({ length: shape[3] }, () => 0.5 + random()));
      // A loss that weighs every output differently, so every gradient path counts.
      const weights = tf.tensor4d(Float32Array.from({ length: kernel.size }, () => random() * 2 - 1), shape);
      const loss = (f: typeof reference) => (k: tf.Tensor, g: tf.Tensor) => tf.sum(tf.mul(f(k as tf.Tensor4D, g), weights));
      assert.ok(relativeError(standardizedKernel(kernel, gain), reference(kernel, gain)) < 1e-5);
      const ours = tf.grads(loss(standardizedKernel))([kernel, gain]);
      const theirs = tf.grads(loss(reference))([kernel, gain]);
      ours.forEach((g, i) => assert.ok(relativeError(g, theirs[i]!) < 1e-5, `gradient ${i}: ${relativeError(g, theirs[i]!)}`));
    }));
  }
});

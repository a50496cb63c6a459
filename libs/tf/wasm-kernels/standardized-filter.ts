/**
 * The WebAssembly kernels behind standardizedFilter (libs/tf/standardized-filter.ts),
 * in JS over the heap: filters are small (a few thousand values), so one
 * pass each way costs less than the dozen tfjs kernel calls it replaces.
 * Per output channel o, with x̂ = W − mean, v = mean(x̂²), c = gain·√2 / √((v + ε)·F):
 * W' = c·x̂, and from dy = ∂L/∂W':
 * ∂L/∂gain = Σ dy·x̂·√2 / √((v + ε)·F),
 * ∂L/∂W = c·(dy − mean(dy)) − c·x̂·Σ(dy·x̂) / (F·(v + ε)).
 */
import * as tf from '@tensorflow/tfjs';
import { EPSILON, STANDARDIZED_FILTER, STANDARDIZED_FILTER_GRAD } from '../standardized-filter.js';
import { scopeOf } from './wasm-scope.js';

/** Mean and variance of each output channel (the last axis) of a filter with `fanIn` values per channel. */
function channelMoments(w: Float32Array, channels: number, fanIn: number): { mean: Float64Array; variance: Float64Array } {
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  for (let i = 0; i < w.length; i++) mean[i % channels]! += w[i]!;
  for (let o = 0; o < channels; o++) mean[o]! /= fanIn;
  for (let i = 0; i < w.length; i++) { const d = w[i]! - mean[i % channels]!; variance[i % channels]! += d * d; }
  for (let o = 0; o < channels; o++) variance[o]! /= fanIn;
  return { mean, variance };
}

export const standardizedFilterConfig: tf.KernelConfig = {
  kernelName: STANDARDIZED_FILTER,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const { filter, gain } = inputs as { filter: tf.TensorInfo; gain: tf.TensorInfo };
    const s = scopeOf(backend);
    const channels = filter.shape[3]!;
    const out = s.scratch(filter.shape);
    const [w, g, o] = [s.view(filter), s.view(gain), s.view(out)];
    const fanIn = w.length / channels;
    const { mean, variance } = channelMoments(w, channels, fanIn);
    const c = Float64Array.from(variance, (v, k) => (g[k]! * Math.SQRT2) / Math.sqrt((v + EPSILON) * fanIn));
    for (let i = 0; i < w.length; i++) o[i] = (w[i]! - mean[i % channels]!) * c[i % channels]!;
    return s.keep(out);
  },
};

export const standardizedFilterGradConfig: tf.KernelConfig = {
  kernelName: STANDARDIZED_FILTER_GRAD,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const { dy, filter, gain } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo; gain: tf.TensorInfo };
    const s = scopeOf(backend);
    const channels = filter.shape[3]!;
    const dFilter = s.scratch(filter.shape);
    const dGain = s.scratch([channels]);
    const [w, g, d, dw, dg] = [s.view(filter), s.view(gain), s.view(dy), s.view(dFilter), s.view(dGain)];
    const fanIn = w.length / channels;
    const { mean, variance } = channelMoments(w, channels, fanIn);
    const dyMean = new Float64Array(channels);
    const dyDotX = new Float64Array(channels);
    for (let i = 0; i < w.length; i++) {
      const o = i % channels;
      dyMean[o]! += d[i]! / fanIn;
      dyDotX[o]! += d[i]! * (w[i]! - mean[o]!);
    }
    for (let o = 0; o < channels; o++) dg[o] = (dyDotX[o]! * Math.SQRT2) / Math.sqrt((variance[o]! + EPSILON) * fanIn);
    for (let i = 0; i < w.length; i++) {
      const o = i % channels;
      const c = (g[o]! * Math.SQRT2) / Math.sqrt((variance[o]! + EPSILON) * fanIn);
      dw[i] = c * (d[i]! - dyMean[o]!) - (c * (w[i]! - mean[o]!) * dyDotX[o]!) / (fanIn * (variance[o]! + EPSILON));
    }
    return s.keep(dFilter, dGain);
  },
};

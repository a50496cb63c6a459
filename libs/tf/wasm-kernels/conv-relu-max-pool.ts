/**
 * The WebAssembly kernels behind convReluMaxPool (libs/tf/conv-relu-max-pool.ts):
 * forward = XNNPACK's convolution fused with bias and ReLU, then one JS pass
 * that pools and records each window's argmax; backward = one JS pass that
 * scatters the pooled gradient to those argmaxes (the convolution's output
 * gradient) and sums it per channel (the bias gradient).
 *
 * Both passes work on float bit patterns as int32, without branches: ReLU
 * outputs are ≥ 0, whose bit patterns order like their values, and V8
 * compiles float comparisons and Math.max to branches that mispredict on
 * every other element (~3× slower here).
 */
import * as tf from '@tensorflow/tfjs';
import { CONV_RELU_MAX_POOL, CONV_RELU_MAX_POOL_GRAD, type ConvReluMaxPoolAttrs } from '../conv-relu-max-pool.js';
import { scopeOf } from './wasm-scope.js';

type Shape4 = [number, number, number, number];

export const convReluMaxPoolConfig: tf.KernelConfig = {
  kernelName: CONV_RELU_MAX_POOL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, filter, bias } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias: tf.TensorInfo };
    const { strides, pad } = attrs as unknown as ConvReluMaxPoolAttrs;
    const s = scopeOf(backend);
    const conv = s.run(tf.FusedConv2D, { x, filter, bias }, { strides, pad, dataFormat: 'NHWC', dilations: 1, activation: 'relu' });
    const [n, h, w, c] = conv.shape as Shape4;
    const pooled = s.output([n, h >> 1, w >> 1, c]);
    const argmax = s.output(pooled.shape, 'int32');
    poolWithArgmax(s.int32(conv), s.int32(pooled), s.int32(argmax), conv.shape as Shape4);
    return s.keep(pooled, argmax);
  },
};

export const convReluMaxPoolGradConfig: tf.KernelConfig = {
  kernelName: CONV_RELU_MAX_POOL_GRAD,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { dy, argmax } = inputs as { dy: tf.TensorInfo; argmax: tf.TensorInfo };
    const { convShape } = attrs as unknown as { convShape: Shape4 };
    const s = scopeOf(backend);
    const dz = s.output(convShape);
    const dbias = s.output([convShape[3]]);
    scatterToArgmax(s.view(dy), s.int32(argmax), s.int32(dz), s.view(dbias), convShape);
    return s.keep(dz, dbias);
  },
};

/**
 * a: ReLU output [n, h, w, c] as bits. A window's first maximum wins (as in
 * tfjs's MaxPoolGrad); argmax gets +4 where the maximum is 0 (ReLU off: no gradient).
 */
function poolWithArgmax(a: Int32Array, pooled: Int32Array, argmax: Int32Array, [n, h, w, c]: Shape4): void {
  // A 2×2 window's elements from its top-left one, in argmax order (row-major).
  const [o1, o2, o3] = [c, w * c, (w + 1) * c];
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h >> 1; y++) {
      for (let x = 0; x < w >> 1; x++, o += c) {
        const corner = ((b * h + 2 * y) * w + 2 * x) * c;
        for (let ch = 0; ch < c; ch++) {
          const i = corner + ch;
          // The mask turns −0 into +0 (ReLU may return either).
          const v0 = a[i]! & 0x7fffffff, v1 = a[i + o1]! & 0x7fffffff, v2 = a[i + o2]! & 0x7fffffff, v3 = a[i + o3]! & 0x7fffffff;
          const s01 = (v0 - v1) >> 31; // −1 where v1 > v0
          const s23 = (v2 - v3) >> 31;
          const m01 = v0 - ((v0 - v1) & s01);
          const m23 = v2 - ((v2 - v3) & s23);
          const s = (m01 - m23) >> 31; // −1 where the bottom row's maximum is greater
          const m = m01 - ((m01 - m23) & s);
          pooled[o + ch] = m;
          argmax[o + ch] = -s01 + (s & (2 - s23 + s01)) + (((m - 1) >> 31) & 4);
        }
      }
    }
  }
}

/** dz (zero-filled, as bits) gets each pooled gradient at its argmax; dbias sums them per channel. */
function scatterToArgmax(dy: Float32Array, argmax: Int32Array, dz: Int32Array, dbias: Float32Array, [n, h, w, c]: Shape4): void {
  const dyBits = new Int32Array(dy.buffer, dy.byteOffset, dy.length);
  const sums = new Float64Array(c);
  const row = w * c;
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h >> 1; y++) {
      for (let x = 0; x < w >> 1; x++, o += c) {
        const corner = ((b * h + 2 * y) * w + 2 * x) * c;
        for (let ch = 0; ch < c; ch++) {
          const at = argmax[o + ch]!;
          const active = 1 - (at >> 2);
          // Where ReLU was off, +0 lands on the window's first element (zero already).
          dz[corner + ch + (at & 1) * c + ((at >> 1) & 1) * row] = dyBits[o + ch]! & -active;
          sums[ch]! += dy[o + ch]! * active;
        }
      }
    }
  }
  dbias.set(sums);
}

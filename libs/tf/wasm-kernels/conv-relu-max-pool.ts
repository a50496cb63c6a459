/**
 * The WebAssembly kernels behind convReluMaxPool (libs/tf/conv-relu-max-pool.ts),
 * their loops in the project's SIMD module (libs/tf/simd/conv-relu-max-pool.ts):
 * forward = convolution, bias, ReLU and pooling in one pass that records
 * each window's argmax (at stride 1; otherwise XNNPACK's convolution fused
 * with bias and ReLU, then the pooling). Backward works from the argmaxes
 * alone: a pooled gradient reaches one convolution output, so the filter and
 * input gradients are sums over the active windows only (a quarter of the
 * outputs at most) of the input patch or the filter scaled by that
 * gradient, without ever forming the convolution's output gradient.
 */
import * as tf from '@tensorflow/tfjs';
import { CONV_RELU_MAX_POOL, CONV_RELU_MAX_POOL_GRAD, CONV_RELU_MAX_POOL_GRAD_INPUT, type ConvReluMaxPoolAttrs } from '../conv-relu-max-pool.js';
import { simdKernels } from './simd-module.js';
import { scopeOf, type WasmScope } from './wasm-scope.js';

type Shape4 = [number, number, number, number];

export const convReluMaxPoolConfig: tf.KernelConfig = {
  kernelName: CONV_RELU_MAX_POOL,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, filter, bias } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo; bias: tf.TensorInfo };
    const { strides, pad } = attrs as unknown as ConvReluMaxPoolAttrs;
    const s = scopeOf(backend);
    const [kh, kw, ci, co] = filter.shape as Shape4;
    const info = tf.backend_util.computeConv2DInfo(x.shape as Shape4, filter.shape as Shape4, strides, 1, pad);
    const [n, ph, pw] = [info.batchSize, info.outHeight >> 1, info.outWidth >> 1];
    const pooled = s.scratch([n, ph, pw, co]);
    const argmax = s.scratch(pooled.shape, 'int32');
    const simd = stage(s, x.shape as Shape4, filter.shape as Shape4, pooled.shape as Shape4, { strides, pad });
    if (strides === 1 && co % 4 === 0) {
      // Convolution and pooling in one pass (the common case: every built-in network's stages).
      const padded = s.scratch([n, 2 * ph + kh - 1, 2 * pw + kw - 1, ci]);
      simd.padInput(s.ptr(x), s.ptr(padded));
      simd.convPool(s.ptr(padded), s.ptr(filter), s.ptr(bias), s.ptr(pooled), s.ptr(argmax));
    } else {
      const conv = s.run(tf.FusedConv2D, { x, filter, bias }, { strides, pad, dataFormat: 'NHWC', dilations: 1, activation: 'relu' });
      const [, h, w] = conv.shape as Shape4;
      simd.poolWithArgmax(s.ptr(conv), s.ptr(pooled), s.ptr(argmax), n, h, w, co);
    }
    return s.keep(pooled, argmax);
  },
};

/** Inputs x, dy (pooled gradient), argmax; outputs [dFilter, dBias]. */
export const convReluMaxPoolGradConfig: tf.KernelConfig = {
  kernelName: CONV_RELU_MAX_POOL_GRAD,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy, argmax } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo; argmax: tf.TensorInfo };
    const { filterShape } = attrs as unknown as { filterShape: Shape4 };
    const s = scopeOf(backend);
    const [kh, kw, ci, co] = filterShape;
    const simd = stage(s, x.shape as Shape4, filterShape, dy.shape as Shape4, attrs as unknown as ConvReluMaxPoolAttrs);
    const rowStride = simd.filterRowStride();
    const perFilter = s.output([co, kh, rowStride]);
    const dBias = s.output([co]);
    simd.filterGradient(s.ptr(dy), s.ptr(argmax), s.ptr(x), s.ptr(perFilter), s.ptr(dBias));
    const dFilter = s.scratch(filterShape);
    // [co, kh, rowStride] (kw·ci values, then padding) to [kh, kw·ci, co].
    const [from, to] = [s.view(perFilter), s.view(dFilter)];
    for (let o = 0; o < co; o++) {
      for (let r = 0; r < kh; r++) for (let k = 0; k < kw * ci; k++) to[(r * kw * ci + k) * co + o] = from[(o * kh + r) * rowStride + k]!;
    }
    return s.keep(dFilter, dBias);
  },
};

/** Inputs dy (pooled gradient), argmax, filter; output dx. */
export const convReluMaxPoolGradInputConfig: tf.KernelConfig = {
  kernelName: CONV_RELU_MAX_POOL_GRAD_INPUT,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { dy, argmax, filter } = inputs as { dy: tf.TensorInfo; argmax: tf.TensorInfo; filter: tf.TensorInfo };
    const { inputShape } = attrs as unknown as { inputShape: Shape4 };
    const s = scopeOf(backend);
    const [kh, kw, ci, co] = filter.shape as Shape4;
    const simd = stage(s, inputShape, filter.shape as Shape4, dy.shape as Shape4, attrs as unknown as ConvReluMaxPoolAttrs);
    const perFilter = s.scratch([co, kh, kw, ci]);
    const dx = s.output(inputShape);
    swapFilterAxes(s.view(filter), s.view(perFilter), kh * kw * ci, co);
    simd.inputGradient(s.ptr(dy), s.ptr(argmax), s.ptr(perFilter), s.ptr(dx));
    return s.keep(dx);
  },
};

/** The SIMD module, told the stage's shapes. */
function stage(s: WasmScope, xShape: Shape4, filterShape: Shape4, pooledShape: Shape4, { strides, pad }: ConvReluMaxPoolAttrs) {
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad);
  const simd = simdKernels(s.backend);
  simd.setStage(info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.filterHeight, info.filterWidth, info.outChannels,
    strides, info.padInfo.top, info.padInfo.left, pooledShape[1], pooledShape[2]);
  return simd;
}

/** out[j, i] = m[i, j] for an rows×cols matrix m: the filter's [kh·kw·ci, co] ⇄ [co, kh·kw·ci]. */
function swapFilterAxes(m: Float32Array, out: Float32Array, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = m[i * cols + j]!;
}

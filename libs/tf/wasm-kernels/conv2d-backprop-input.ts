/**
 * A faster Conv2DBackpropInput for stride 1: the input gradient of a
 * stride-1 convolution is the convolution of dy with the filter rotated by
 * 180° and its channel axes swapped, padded by (k − 1 − pad), which XNNPACK
 * runs as fast as a forward pass. wasm's own kernel (a plain C++ loop, ~6×
 * slower here) still handles strides above 1.
 */
import * as tf from '@tensorflow/tfjs';
import { scopeOf, type WasmScope } from './wasm-scope.js';

export function conv2DBackpropInputConfig(fallback: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.Conv2DBackpropInput,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
      const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
      const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode);
      const { top, bottom, left, right } = info.padInfo;
      const padding = [info.filterHeight - 1 - top, info.filterHeight - 1 - bottom, info.filterWidth - 1 - left, info.filterWidth - 1 - right];
      if (dataFormat !== 'NHWC' || info.strideHeight !== 1 || info.strideWidth !== 1 || padding.some((p) => p < 0)) {
        return fallback.kernelFunc(args);
      }
      const s = scopeOf(args.backend);
      const rotated = rotatedFilter(s, filter);
      const [pt, pb, pl, pr] = padding as [number, number, number, number];
      return s.keep(s.run('Conv2D', { x: dy, filter: rotated }, {
        strides: 1, pad: [[0, 0], [pt, pb], [pl, pr], [0, 0]], dataFormat: 'NHWC', dilations: 1,
      }));
    },
  };
}

/** W'[kh,kw,co,ci] = W[KH−1−kh, KW−1−kw, ci, co]. */
function rotatedFilter(s: WasmScope, filter: tf.TensorInfo): tf.TensorInfo {
  const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
  const out = s.output([kh, kw, co, ci]);
  const w = s.view(filter);
  const r = s.view(out);
  for (let y = 0; y < kh; y++) {
    for (let x = 0; x < kw; x++) {
      const src = ((kh - 1 - y) * kw + (kw - 1 - x)) * ci * co;
      const dst = (y * kw + x) * co * ci;
      for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) r[dst + o * ci + i] = w[src + i * co + o]!;
    }
  }
  return out;
}

/**
 * AvgPoolGrad for a window over the whole input (global average pooling,
 * as the classifier pools its features): every input value gets its
 * channel's gradient divided by the window's size, one pass over the heap.
 * wasm's own kernel (~4 ms for an [8, 16, 16, 32] input here, a third of a
 * whole training step) still handles every other window.
 */
import * as tf from '@tensorflow/tfjs';
import { scopeOf } from './wasm-scope.js';

export function avgPoolGradConfig(fallback: tf.KernelConfig): tf.KernelConfig {
  return {
    kernelName: tf.AvgPoolGrad,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
      const [n, h, w, c] = input.shape as [number, number, number, number];
      if (dy.shape[1] !== 1 || dy.shape[2] !== 1 || dy.shape[3] !== c) return fallback.kernelFunc(args);
      const { filterSize, pad } = args.attrs as unknown as tf.AvgPoolGradAttrs;
      const [fh, fw] = typeof filterSize === 'number' ? [filterSize, filterSize] : filterSize;
      if (fh !== h || fw !== w || pad !== 'valid') return fallback.kernelFunc(args);
      const s = scopeOf(args.backend);
      const dx = s.scratch(input.shape);
      const [g, out] = [s.view(dy), s.view(dx)];
      const scale = 1 / (h * w);
      const row = Float32Array.from(g, (v) => v * scale);
      for (let b = 0; b < n; b++) {
        const channels = row.subarray(b * c, (b + 1) * c);
        for (let p = 0; p < h * w; p++) out.set(channels, (b * h * w + p) * c);
      }
      return s.keep(dx);
    },
  };
}

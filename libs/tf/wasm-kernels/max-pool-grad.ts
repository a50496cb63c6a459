/**
 * MaxPoolGrad in JS over the wasm heap: wasm's own kernel recomputes every
 * window's argmax per output element of dx (~10× slower here). Each dy value
 * goes to the first maximum of its window in row-major order, as on the cpu
 * backend; padding never wins.
 */
import * as tf from '@tensorflow/tfjs';
import { scopeOf } from './wasm-scope.js';

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    const s = scopeOf(backend);
    const dx = s.output(input.shape);
    scatterToMaxima(s.view(input), s.view(dy), s.view(dx), info);
    return s.keep(dx);
  },
};

/**
 * One output row at a time: the row's running maxima (best/at, one per
 * output pixel and channel) are reset once per row, and each window row is
 * read contiguously.
 */
function scatterToMaxima(x: Float32Array, dy: Float32Array, dx: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { filterHeight, filterWidth, padInfo } = info;
  const best = new Float32Array(outWidth * c);
  const at = new Int32Array(outWidth * c);
  for (let b = 0; b < batchSize; b++) {
    for (let y = 0; y < outHeight; y++) {
      best.fill(-Infinity);
      at.fill(-1);
      const y0 = Math.max(0, y * strideHeight - padInfo.top);
      const y1 = Math.min(inHeight, y * strideHeight - padInfo.top + filterHeight);
      for (let iy = y0; iy < y1; iy++) {
        const row = (b * inHeight + iy) * inWidth;
        for (let xo = 0; xo < outWidth; xo++) {
          const x0 = Math.max(0, xo * strideWidth - padInfo.left);
          const x1 = Math.min(inWidth, xo * strideWidth - padInfo.left + filterWidth);
          const o = xo * c;
          for (let ix = x0; ix < x1; ix++) {
            const i = (row + ix) * c;
            for (let ch = 0; ch < c; ch++) {
              const v = x[i + ch]!;
              if (v > best[o + ch]!) { best[o + ch] = v; at[o + ch] = i + ch; }
            }
          }
        }
      }
      const out = (b * outHeight + y) * outWidth * c;
      for (let k = 0; k < outWidth * c; k++) if (at[k]! >= 0) dx[at[k]!]! += dy[out + k]!;
    }
  }
}

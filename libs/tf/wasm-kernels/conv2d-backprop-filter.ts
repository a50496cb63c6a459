/**
 * Conv2DBackpropFilter, which the WebAssembly backend lacks:
 * dW[kh,kw,ci,co] = Σ_{b,y,x} xpad[b, y·s+kh, x·s+kw, ci] · dy[b,y,x,co],
 * computed as one matrix product cols·dy with cols the transposed im2col
 * matrix built in JS. The transposed layout matters: XNNPACK multiplies plain
 * operands ~9× faster than a transposed one, and wasm's Transpose is slower still.
 */
import * as tf from '@tensorflow/tfjs';
import { scopeOf } from './wasm-scope.js';

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    if (dataFormat !== 'NHWC') throw new Error('wasm Conv2DBackpropFilter supports NHWC only');
    const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
    const s = scopeOf(backend);
    const rows = info.filterHeight * info.filterWidth * info.inChannels;
    const columns = info.batchSize * info.outHeight * info.outWidth;
    const cols = s.output([1, rows, columns]);
    transposedIm2col(s.view(x), s.view(cols), info);
    const product = s.run('BatchMatMul', { a: cols, b: s.reshape(dy, [1, columns, info.outChannels]) }, { transposeA: false, transposeB: false });
    return s.keep(s.reshape(product, filterShape));
  },
};

/**
 * cols[(kh·KW + kw)·C + c][(b·OH + y)·OW + x] = xpad[b, y·s+kh, x·s+kw, c]
 * (`cols` zero-filled, so padding is skipped). The input is first made
 * planar (channel-major), so that each row of `cols` is built from contiguous
 * runs: ~3× faster than gathering channels per pixel.
 */
export function transposedIm2col(xv: Float32Array, cols: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, strideHeight: sh, strideWidth: sw } = info;
  const { filterHeight, filterWidth, dilationHeight, dilationWidth, padInfo } = info;
  const plane = batchSize * inHeight * inWidth;
  const planar = new Float32Array(c * plane);
  for (let p = 0, i = 0; p < plane; p++) for (let ch = 0; ch < c; ch++, i++) planar[ch * plane + p] = xv[i]!;
  let dst = 0;
  for (let kh = 0; kh < filterHeight; kh++) {
    for (let kw = 0; kw < filterWidth; kw++) {
      const shift = kw * dilationWidth - padInfo.left;
      // Output columns whose input column ix = x·sw + shift lies inside the image.
      const first = Math.max(0, Math.ceil(-shift / sw));
      const end = Math.min(outWidth, Math.floor((inWidth - 1 - shift) / sw) + 1);
      for (let ch = 0; ch < c; ch++) {
        for (let b = 0; b < batchSize; b++) {
          for (let y = 0; y < outHeight; y++, dst += outWidth) {
            const iy = y * sh + kh * dilationHeight - padInfo.top;
            if (iy < 0 || iy >= inHeight || first >= end) continue;
            const base = ch * plane + (b * inHeight + iy) * inWidth + shift;
            if (sw === 1) cols.set(planar.subarray(base + first, base + end), dst + first);
            else for (let x = first; x < end; x++) cols[dst + x] = planar[base + x * sw]!;
          }
        }
      }
    }
  }
}

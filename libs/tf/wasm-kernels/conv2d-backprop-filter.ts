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
    const planar = s.scratch([info.inChannels, info.batchSize, info.inHeight, info.inWidth]);
    const cols = s.scratch([1, rows, columns]);
    const [heap, xAt] = s.heap(x);
    transposedIm2col(heap, xAt, s.heap(planar)[1], s.heap(cols)[1], info);
    const product = s.run('BatchMatMul', { a: cols, b: s.reshape(dy, [1, columns, info.outChannels]) }, { transposeA: false, transposeB: false });
    return s.keep(s.reshape(product, filterShape));
  },
};

/**
 * cols[(kh·KW + kw)·C + c][(b·OH + y)·OW + x] = xpad[b, y·s+kh, x·s+kw, c],
 * every element written (padding as 0). Positions are offsets into `heap`.
 * The input is first made planar ([c][b][y][x], ~3× faster than gathering
 * channels per pixel), so that rows of `cols` are contiguous runs of it,
 * moved with copyWithin inside the one heap array (no views, no
 * allocations). At stride 1 with outputs as wide as inputs ('same'), all of
 * an image's valid rows move as one block, and only the elements that
 * wrapped around row ends (the padding) are zeroed after.
 */
function transposedIm2col(heap: Float32Array, x: number, planar: number, cols: number, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize: n, inHeight: ih, inWidth: iw, inChannels: c, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  const { filterHeight, filterWidth, dilationHeight, dilationWidth, padInfo } = info;
  const image = ih * iw;
  const plane = n * image;
  for (let p = 0, i = x; p < plane; p++) for (let ch = 0; ch < c; ch++, i++) heap[planar + ch * plane + p] = heap[i]!;
  const block = sh === 1 && sw === 1 && iw === ow;
  let dst = cols;
  for (let kh = 0; kh < filterHeight; kh++) {
    // Output rows y whose input row iy = y·sh + down lies inside the image: [y0, y1).
    const down = kh * dilationHeight - padInfo.top;
    const y0 = Math.min(oh, Math.max(0, Math.ceil(-down / sh)));
    const y1 = Math.max(y0, Math.min(oh, Math.floor((ih - 1 - down) / sh) + 1));
    for (let kw = 0; kw < filterWidth; kw++) {
      // Output columns x whose input column x·sw + shift lies inside: [x0, x1).
      const shift = kw * dilationWidth - padInfo.left;
      const x0 = Math.min(ow, Math.max(0, Math.ceil(-shift / sw)));
      const x1 = Math.max(x0, Math.min(ow, Math.floor((iw - 1 - shift) / sw) + 1));
      for (let ch = 0; ch < c; ch++) {
        for (let b = 0; b < n; b++, dst += oh * ow) {
          const src = planar + ch * plane + b * image;
          heap.fill(0, dst, dst + y0 * ow);
          heap.fill(0, dst + y1 * ow, dst + oh * ow);
          if (block) {
            heap.copyWithin(dst + y0 * ow, src + (y0 + down) * iw + shift, src + (y1 + down) * iw + shift);
            for (let y = y0; y < y1; y++) {
              for (let xo = 0; xo < x0; xo++) heap[dst + y * ow + xo] = 0;
              for (let xo = x1; xo < ow; xo++) heap[dst + y * ow + xo] = 0;
            }
            continue;
          }
          for (let y = y0; y < y1; y++) {
            const row = dst + y * ow;
            const from = src + (y * sh + down) * iw + shift;
            heap.fill(0, row, row + x0);
            heap.fill(0, row + x1, row + ow);
            if (sw === 1) heap.copyWithin(row + x0, from + x0, from + x1);
            else for (let xo = x0; xo < x1; xo++) heap[row + xo] = heap[from + xo * sw]!;
          }
        }
      }
    }
  }
}

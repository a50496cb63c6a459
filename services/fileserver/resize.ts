/**
 * ReadImages' resize for images decoded in JS (small-png.ts), giving what sharp gives for
 * `resize({ width: s, height: s, fit: 'inside', withoutEnlargement: true })` (or `fit: 'fill'` when squashed)
 * `.removeAlpha().toColourspace('srgb').raw()` — so a model trained on one and predicting on the other sees
 * the same pixels (test/fileserver/small-png.test.ts compares the two on the same files).
 *
 * It follows libvips' own steps (vips_resize, 8.18) for 8-bit images rather than a generic Lanczos:
 * - shrinking an axis: an integer box shrink first when the factor is 4 or more (vips_shrinkh/v, `gap` 2), then a
 *   Lanczos-3 reduce (vips_reduceh/v) with the kernel widened by the residual factor, the vertical axis first;
 * - enlarging an axis: Catmull-Rom bicubic interpolation (vips_affine) over both axes at once, half a pixel
 *   displaced;
 * - libvips' arithmetic: 12-bit fixed-point weights truncated from doubles, sample positions rounded to 1/64 of a
 *   pixel, round-half-up and a clip to 0–255 after each step, edges extended by copying, the centre convention;
 * - images with alpha premultiplied before and unpremultiplied after, as sharp does; alpha then dropped.
 * On the test's images (RGB, RGBA, grey, palettes; shrunk, enlarged, squashed) the results are sharp 0.35's
 * (libvips 8.18.7) to the bit. The test allows 2 levels a channel (mean 0.25), so that a libvips update moving a
 * rounding does not fail it while a change of method would.
 */

import { simdKernelsOn, type SimdKernels } from '../../libs/tf/wasm-kernels/simd-module.js';

/** A decoded image: `channels` interleaved bytes a pixel (3: RGB, 4: RGBA), row by row. */
export interface RawImage {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Uint8Array;
}

/** Weights are fixed point with this many fractional bits (VIPS_INTERPOLATE_SHIFT). */
const WEIGHT_SHIFT = 12;
const WEIGHT_ONE = 1 << WEIGHT_SHIFT;
/** Sample positions are rounded to 1/SUBPIXELS of a pixel (VIPS_TRANSFORM_SCALE). */
const SUBPIXELS = 64;
/** A shrink leaves at least this factor to the Lanczos reduce (vips_resize's `gap`, sharp's default). */
const REDUCE_GAP = 2;

type Axis = 'h' | 'v';

/**
 * One 1-D resampling of an axis: output sample o is the sum over i < taps of source[index[o·taps + i]] × weight[…],
 * rounded from fixed point (libvips' unsigned_fixed_round) — or, for a box shrink, divided as libvips divides.
 */
interface Kernel {
  length: number;
  taps: number;
  index: Int32Array;
  weight: Int32Array;
  box?: { amend: number; multiplier: number };
}

/**
 * Samples between steps: bytes (a clamped array: libvips' clip to 0–255 comes with the store), or the unclipped
 * intermediate rows of the bicubic enlargement. Two array types only, so the loops below stay fast.
 */
type Samples = Uint8ClampedArray | Int32Array;

interface Planes {
  width: number;
  height: number;
  channels: number;
  data: Samples;
}

/** C's rint: halves to even (2·rint(3 × 1.5) + 1 is 9 taps, not 11). */
const rint = (v: number) => {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
};
/** VIPS_ROUND_UINT / VIPS_ROUND_INT for positive values. */
const roundHalfUp = (v: number) => Math.floor(v + 0.5);

const lengthOf = (image: Planes, axis: Axis) => (axis === 'h' ? image.width : image.height);

/**
 * Applies a kernel along one axis, every other axis and channel as they are. The sums are libvips' integer sums,
 * whatever order they are added in; the loops run along memory: a vertical pass adds whole source rows into a row
 * of sums (one weight a row), a horizontal one sums a pixel's channels together.
 */
function resampleAxis(image: Planes, axis: Axis, kernel: Kernel, out: Samples): Planes {
  const { width, height, channels, data } = image;
  const { length, taps, index, weight, box } = kernel;
  // libvips rounds fixed point half up, or divides a box's sum by multiplying.
  const amend = box ? box.amend : WEIGHT_ONE >> 1;
  const multiplier = box ? box.multiplier / 2 ** 24 : 0;
  if (axis === 'v') {
    const row = width * channels;
    const sums = new Int32Array(row);
    for (let o = 0; o < length; o++) {
      sums.fill(0);
      for (let k = o * taps, end = k + taps; k < end; k++) {
        const from = index[k]! * row;
        const w = weight[k]!;
        for (let x = 0; x < row; x++) sums[x]! += data[from + x]! * w;
      }
      const to = o * row;
      if (box) for (let x = 0; x < row; x++) out[to + x] = Math.floor((sums[x]! + amend) * multiplier);
      else for (let x = 0; x < row; x++) out[to + x] = (sums[x]! + amend) >> WEIGHT_SHIFT;
    }
    return { width, height: length, channels, data: out };
  }
  const offsets = new Int32Array(index.length);
  for (let k = 0; k < index.length; k++) offsets[k] = index[k]! * channels;
  for (let y = 0; y < height; y++) {
    const from = y * width * channels;
    let to = y * length * channels;
    for (let o = 0; o < length; o++) {
      const first = o * taps;
      for (let c = 0; c < channels; c++, to++) {
        let sum = 0;
        for (let k = first, end = first + taps; k < end; k++) sum += data[from + offsets[k]! + c]! * weight[k]!;
        out[to] = box ? Math.floor((sum + amend) * multiplier) : (sum + amend) >> WEIGHT_SHIFT;
      }
    }
  }
  return { width: length, height, channels, data: out };
}

const outputFor = (image: Planes, axis: Axis, length: number) =>
  new Uint8ClampedArray((axis === 'h' ? length * image.height : image.width * length) * image.channels);

/** vips_shrinkh/v with `ceil`: the mean of each run of `factor` samples, the last run padded by copying the edge. */
function boxKernel(sourceLength: number, factor: number): Kernel {
  const length = Math.ceil(sourceLength / factor);
  const index = new Int32Array(length * factor);
  for (let o = 0; o < length; o++) {
    for (let i = 0; i < factor; i++) index[o * factor + i] = Math.min(o * factor + i, sourceLength - 1);
  }
  // libvips divides by multiplying: (sum + factor/2) × ⌊2³² / (256 × factor)⌋ >> 24.
  const box = { amend: factor >> 1, multiplier: Math.floor(2 ** 32 / (256 * factor)) };
  return { length, taps: factor, index, weight: new Int32Array(length * factor).fill(1), box };
}

function lanczos3(x: number): number {
  if (x === 0) return 1;
  if (x < -3 || x > 3) return 0;
  const px = x * Math.PI;
  return ((Math.sin(px) / px) * Math.sin(px / 3)) / (px / 3);
}

/** vips_reduceh/v's Lanczos-3 reduce by `shrink` (after any box shrink) to `length` samples; `extra` as libvips counts it. */
function computeLanczosKernel(sourceLength: number, length: number, shrink: number, extra: number): Kernel {
  const taps = 2 * rint(3 * shrink) + 1;
  // Rounding the output size invents or drops input: the origin moves by half of it, so both edges share it.
  const offset = (1 + extra) / 2 - 1;
  const before = Math.ceil(taps / 2) - 1;
  const index = new Int32Array(length * taps);
  const weight = new Int32Array(length * taps);
  const mask = new Float64Array(taps);
  const scale = 1 / shrink;
  for (let o = 0; o < length; o++) {
    const x = (o + 0.5) * shrink - 0.5 - offset;
    const ix = Math.trunc(x);
    const sub = ((Math.trunc(x * SUBPIXELS * 2) & (SUBPIXELS * 2 - 1)) + 1) >> 1;
    const half = sub / SUBPIXELS + taps / 2 - 1;
    let sum = 0;
    for (let i = 0; i < taps; i++) sum += mask[i] = lanczos3((i - half) * scale);
    for (let i = 0; i < taps; i++) {
      index[o * taps + i] = Math.min(Math.max(ix + i - before, 0), sourceLength - 1);
      weight[o * taps + i] = Math.trunc((mask[i]! / sum) * WEIGHT_ONE);
    }
  }
  return { length, taps, index, weight };
}

/** Kernels by their arguments: a survey's images share a few sizes, and a kernel costs ~700 sines to compute. */
const lanczosKernels = new Map<string, Kernel>();
const KERNELS_KEPT = 256;

function lanczosKernel(sourceLength: number, length: number, shrink: number, extra: number): Kernel {
  const key = `${sourceLength} ${length} ${shrink} ${extra}`;
  let kernel = lanczosKernels.get(key);
  if (!kernel) {
    if (lanczosKernels.size >= KERNELS_KEPT) lanczosKernels.clear();
    kernel = computeLanczosKernel(sourceLength, length, shrink, extra);
    lanczosKernels.set(key, kernel);
  }
  return kernel;
}

const PAGE_BYTES = 65536;
const align16 = (n: number) => (n + 15) & ~15;

/**
 * The Lanczos reduce in SIMD (libs/tf/simd/reduce-rows.ts; 56² to 32² in 24 µs against 340 in JS): 8-bit samples
 * in, 8-bit out, the same integer sums. One memory for the process, replaced by a larger one when an image needs
 * more. Only bytes come here: a reduce runs before any enlargement (whose rows are unclipped integers).
 */
class SimdReduce {
  #memory: WebAssembly.Memory | undefined;
  #kernels: SimdKernels | undefined;

  /** The kernels on a memory of at least `bytes`. */
  #on(bytes: number): { kernels: SimdKernels; heap: Uint8Array } {
    if (!this.#memory || this.#memory.buffer.byteLength < bytes) {
      this.#memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / PAGE_BYTES) });
      this.#kernels = simdKernelsOn(this.#memory);
    }
    return { kernels: this.#kernels!, heap: new Uint8Array(this.#memory.buffer) };
  }

  reduce(image: Planes, axis: Axis, kernel: Kernel): Planes {
    const { width, height, channels } = image;
    // Lines along the axis become rows: a horizontal reduce transposes the image first and back after.
    const [lines, across] = axis === 'v' ? [height, width] : [width, height];
    const row = across * channels;
    const inBytes = align16(lines * row);
    const outBytes = align16(kernel.length * row);
    const tableBytes = kernel.index.byteLength;
    // Layout: source | transposed source | reduced | transposed back | index | weight.
    const at = { source: 0, turned: inBytes, reduced: 2 * inBytes, back: 2 * inBytes + outBytes, index: 2 * inBytes + 2 * outBytes };
    const weightAt = at.index + tableBytes;
    const { kernels, heap } = this.#on(weightAt + tableBytes);
    heap.set(image.data, at.source);
    heap.set(new Uint8Array(kernel.index.buffer, kernel.index.byteOffset, tableBytes), at.index);
    heap.set(new Uint8Array(kernel.weight.buffer, kernel.weight.byteOffset, tableBytes), weightAt);
    if (axis === 'v') {
      kernels.reduceRows(at.source, row, at.index, weightAt, kernel.taps, kernel.length, at.reduced);
      return { width, height: kernel.length, channels, data: new Uint8ClampedArray(heap.buffer.slice(at.reduced, at.reduced + kernel.length * row)) };
    }
    kernels.transposePixels(at.source, height, width, channels, at.turned);
    kernels.reduceRows(at.turned, row, at.index, weightAt, kernel.taps, kernel.length, at.reduced);
    kernels.transposePixels(at.reduced, kernel.length, height, channels, at.back);
    const data = new Uint8ClampedArray(heap.buffer.slice(at.back, at.back + kernel.length * row));
    return { width: kernel.length, height, channels, data };
  }
}

const simdReduce = new SimdReduce();

/** vips_reduceh/v: the axis shrunk by `shrink` to round(length / shrink) samples. */
function reduceAxis(image: Planes, axis: Axis, shrink: number): Planes {
  const sourceLength = lengthOf(image, axis);
  const length = roundHalfUp(sourceLength / shrink);
  let extra = length * shrink - sourceLength;
  let residual = shrink;
  const boxFactor = Math.max(1, Math.floor(sourceLength / length / REDUCE_GAP));
  let shrunk = image;
  if (boxFactor > 1) {
    const box = boxKernel(sourceLength, boxFactor);
    shrunk = resampleAxis(image, axis, box, outputFor(image, axis, box.length));
    residual /= boxFactor;
    extra /= boxFactor;
  }
  if (residual === 1) return shrunk;
  return simdReduce.reduce(shrunk, axis, lanczosKernel(lengthOf(shrunk, axis), length, residual, extra));
}

/** Catmull-Rom coefficients at fraction x (libvips' calculate_coefficients_catmull). */
function catmullRom(x: number): [number, number, number, number] {
  const cr1 = 1 - x;
  const cr2 = -0.5 * x;
  const cr3 = cr1 * cr2;
  const cone = cr1 * cr3;
  const cfou = x * cr3;
  const cr4 = cfou - cone;
  return [cone, cr1 - cone + cr4, x - cfou - cr4, cfou];
}

/**
 * vips_affine's bicubic interpolation along one axis scaled by `scale` (≥ 1). The input displacement is half a
 * pixel whatever the scale: so vips_resize (libvips 8.18.7, sharp 0.35's) calls it, on an axis it does not enlarge
 * too (later libvips scales it, #4909; the comparison test would notice the change).
 */
function bicubicKernel(sourceLength: number, scale: number): Kernel {
  const length = roundHalfUp(scale * sourceLength);
  const index = new Int32Array(length * 4);
  const weight = new Int32Array(length * 4);
  for (let o = 0; o < length; o++) {
    // libvips samples at o / scale - 0.5 in its copy of the image with a 2-pixel border: both the pixel and the
    // fraction come from that one sum, or a position a hair below an integer would take one from each side.
    const bordered = o / scale + 1.5;
    const ix = Math.trunc(bordered) - 2;
    const sub = ((Math.trunc(bordered * SUBPIXELS * 2) & (SUBPIXELS * 2 - 1)) + 1) >> 1;
    const c = catmullRom(sub / SUBPIXELS);
    for (let i = 0; i < 4; i++) {
      index[o * 4 + i] = Math.min(Math.max(ix - 1 + i, 0), sourceLength - 1);
      weight[o * 4 + i] = Math.trunc(c[i]! * WEIGHT_ONE);
    }
  }
  return { length, taps: 4, index, weight };
}

/**
 * vips_resize's enlargement: vips_affine with the bicubic interpolator over both axes at once, an axis not
 * enlarged at scale 1 — rows first, rounded but not clipped, then columns.
 */
function enlarge(image: Planes, hscale: number, vscale: number): Planes {
  const rows = bicubicKernel(image.width, Math.max(hscale, 1));
  const wide = resampleAxis(image, 'h', rows, new Int32Array(rows.length * image.height * image.channels));
  const columns = bicubicKernel(image.height, Math.max(vscale, 1));
  return resampleAxis(wide, 'v', columns, outputFor(wide, 'v', columns.length));
}

/** sharp's ResolveShrink for a maxSide² box: the factor each axis is divided by. */
function shrinkFactors(width: number, height: number, maxSide: number, squash: boolean): [number, number] {
  let h = width / maxSide;
  let v = height / maxSide;
  if (!squash) {
    h = v = Math.max(Math.max(h, v), 1); // fit inside, never enlarged
  }
  return [Math.min(h, width), Math.min(v, height)];
}

/** sharp's premultiply().cast('uchar'): colour × alpha/255 in single precision, truncated. */
function premultiply(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let p = 0; p < data.length; p += 4) {
    const alpha = Math.fround(data[p + 3]! / 255);
    for (let c = 0; c < 3; c++) out[p + c] = Math.trunc(Math.fround(data[p + c]! * alpha));
    out[p + 3] = data[p + 3]!;
  }
  return out;
}

/** unpremultiply().cast('uchar') then removeAlpha(): colour × 255/alpha in single precision, truncated, clipped. */
function unpremultiplyToRgb(data: Uint8Array): Uint8Array {
  const out = new Uint8Array((data.length / 4) * 3);
  for (let p = 0, q = 0; p < data.length; p += 4, q += 3) {
    const alpha = data[p + 3]!;
    const factor = alpha === 0 ? 0 : Math.fround(255 / alpha);
    for (let c = 0; c < 3; c++) out[q + c] = Math.min(255, Math.trunc(Math.fround(factor * data[p + c]!)));
  }
  return out;
}

function dropAlpha(data: Uint8Array): Uint8Array {
  const out = new Uint8Array((data.length / 4) * 3);
  for (let p = 0, q = 0; p < data.length; p += 4, q += 3) {
    out[q] = data[p]!;
    out[q + 1] = data[p + 1]!;
    out[q + 2] = data[p + 2]!;
  }
  return out;
}

/**
 * The image at ReadImages' size as RGB: its longer side at most maxSide and never enlarged, or squashed to
 * exactly maxSide² when `squash`.
 */
export function resizeToRgb(image: RawImage, maxSide: number, squash: boolean): RawImage {
  const [hshrink, vshrink] = shrinkFactors(image.width, image.height, maxSide, squash);
  const resized = hshrink !== 1 || vshrink !== 1;
  const alpha = image.channels === 4;
  if (!resized) return { width: image.width, height: image.height, channels: 3, data: alpha ? dropAlpha(image.data) : image.data };
  const bytes = alpha ? premultiply(image.data) : image.data;
  let planes: Planes = { ...image, data: new Uint8ClampedArray(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  // vips_resize: scales are 1/shrink, and no axis goes below one pixel.
  const hscale = Math.max(1 / hshrink, 1 / image.width);
  const vscale = Math.max(1 / vshrink, 1 / image.height);
  if (vscale < 1) planes = reduceAxis(planes, 'v', 1 / vscale);
  if (hscale < 1) planes = reduceAxis(planes, 'h', 1 / hscale);
  if (hscale > 1 || vscale > 1) planes = enlarge(planes, hscale, vscale);
  const resizedBytes = new Uint8Array(planes.data.buffer, planes.data.byteOffset, planes.data.byteLength);
  return { width: planes.width, height: planes.height, channels: 3, data: alpha ? unpremultiplyToRgb(resizedBytes) : resizedBytes };
}

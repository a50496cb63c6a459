/**
 * Between masks at the image's size and the network's size×size maps.
 * Training: annotation masks become a map of output indices, sampled at
 * pixel centres (nearest neighbour: class indices must not blend) — at the
 * input size, or with tiling at the masks' own size, windows then cut from
 * it. Inference: class probabilities are resized bilinearly back to the
 * image (or to a window of it), then each pixel takes its most probable
 * class, so boundaries fall between the network's pixels rather than on a
 * blocky grid. A large image's prediction is stitched from its windows',
 * each pixel from the window whose core owns it (tiling/windows.ts).
 */
import type { ImageWindow } from '../../../libs/plugin/context.js';
import type { SegmentationMaskAnnotation, SegmentationPrediction } from '../../../libs/plugin/data.js';
import { decodeMask } from '../../../libs/plugin/masks.js';
import { corePixels, type PixelRect, type PlannedWindow } from '../tiling/windows.js';

/** Outputs per pixel (−1 = ignored), row-major: a training target. */
export interface OutputMap {
  width: number;
  height: number;
  outputs: Int16Array;
  /** The output of mask pixels 0 (background), −1 where they are unlabelled. */
  background: number;
}

/** Part of a map, in its pixels (not necessarily whole ones). */
type Region = ImageWindow;

/** Nearest source pixel of `count` samples at pixel centres over [start, start + extent) of an axis `length` pixels long. */
function nearest(start: number, extent: number, count: number, length: number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.min(length - 1, Math.floor(start + ((i + 0.5) * extent) / count));
  return out;
}

/** put(i, value) for each pixel i of a width×height nearest-neighbour resampling of `region` of a map. */
function resampleNearest(source: ArrayLike<number>, sourceWidth: number, sourceHeight: number, region: Region, width: number, height: number, put: (i: number, value: number) => void): void {
  const rows = nearest(region.top, region.height, height, sourceHeight);
  const columns = nearest(region.left, region.width, width, sourceWidth);
  for (let y = 0; y < height; y++) {
    const row = rows[y]! * sourceWidth;
    for (let x = 0; x < width; x++) put(y * width + x, source[row + columns[x]!]!);
  }
}

/**
 * A width×height map of outputs (via `lookup`: mask index → output, −1 =
 * ignored) of one or more masks covering the image; where masks overlap, a
 * later mask's labelled pixels win.
 */
export function outputMap(masks: readonly SegmentationMaskAnnotation[], lookup: Int16Array, width: number, height: number): OutputMap {
  const outputs = new Int16Array(width * height).fill(-1);
  for (const mask of masks) {
    const whole = { left: 0, top: 0, width: mask.width, height: mask.height };
    resampleNearest(decodeMask(mask), mask.width, mask.height, whole, width, height, (i, index) => {
      const output = lookup[index]!;
      if (output >= 0) outputs[i] = output;
    });
  }
  return { width, height, outputs, background: lookup[0]! };
}

/** The size×size outputs of `window` (source pixels of an imageWidth×imageHeight image that `map` covers). */
export function windowOutputs(map: OutputMap, window: ImageWindow, imageWidth: number, imageHeight: number, size: number): OutputMap {
  const [sx, sy] = [map.width / imageWidth, map.height / imageHeight];
  const region = { left: window.left * sx, top: window.top * sy, width: window.width * sx, height: window.height * sy };
  const outputs = new Int16Array(size * size);
  resampleNearest(map.outputs, map.width, map.height, region, size, size, (i, output) => { outputs[i] = output; });
  return { width: size, height: size, outputs, background: map.background };
}

/** Source positions of a bilinear resize from `from` to `to` pixels (half-pixel centres, clamped at the edges). */
function samples(from: number, to: number): { lo: Int32Array; hi: Int32Array; frac: Float32Array } {
  const lo = new Int32Array(to);
  const hi = new Int32Array(to);
  const frac = new Float32Array(to);
  for (let i = 0; i < to; i++) {
    const s = Math.min(from - 1, Math.max(0, ((i + 0.5) * from) / to - 0.5));
    lo[i] = Math.floor(s);
    hi[i] = Math.min(from - 1, lo[i]! + 1);
    frac[i] = s - lo[i]!;
  }
  return { lo, hi, frac };
}

/** The outputs predicted: those whose class the project still has (index ≥ 0). */
const keptOutputs = (indices: readonly number[]) => indices.flatMap((index, k) => (index >= 0 ? [k] : []));

export interface MapOptions {
  /** Mask index each output predicts; −1 = not predicted (its probability is dropped and the rest renormalized). */
  indices: readonly number[];
  width: number;
  height: number;
  /** Include the per-class probability planes (the predicted outputs only, in output order). */
  logits: boolean;
}

/** Prediction maps of a width×height image, yet to be painted. */
export function emptyPrediction({ indices, width, height, logits }: MapOptions): SegmentationPrediction {
  const pixels = width * height;
  const planes = keptOutputs(indices).length;
  const maps = { width, height, labelMap: new Uint8Array(pixels), confidenceMap: new Float32Array(pixels) };
  return logits ? { ...maps, logitsMap: new Float32Array(planes * pixels), numClasses: planes } : maps;
}

/**
 * Paints `pixels` (image pixels) of `maps` from probabilities [size, size,
 * outputs] that cover `window` of the image: resized bilinearly to the
 * window's pixels, renormalized over the predicted outputs, the most
 * probable taken.
 */
function paintPrediction(maps: SegmentationPrediction, probs: Float32Array, size: number, indices: readonly number[], window: ImageWindow, pixels: PixelRect): void {
  const outputs = indices.length;
  const kept = keptOutputs(indices);
  const { width, labelMap, confidenceMap, logitsMap } = maps;
  const plane = width * maps.height;
  const xs = samples(size, window.width);
  const ys = samples(size, window.height);
  const p = new Float32Array(kept.length);
  for (let y = pixels.top; y < pixels.bottom; y++) {
    const wy = y - window.top;
    const fy = ys.frac[wy]!;
    const r0 = ys.lo[wy]! * size;
    const r1 = ys.hi[wy]! * size;
    for (let x = pixels.left; x < pixels.right; x++) {
      const wx = x - window.left;
      const fx = xs.frac[wx]!;
      const [a, b, c, d] = [(r0 + xs.lo[wx]!) * outputs, (r0 + xs.hi[wx]!) * outputs, (r1 + xs.lo[wx]!) * outputs, (r1 + xs.hi[wx]!) * outputs];
      let sum = 0;
      let best = 0;
      kept.forEach((k, j) => {
        const v = (1 - fy) * ((1 - fx) * probs[a + k]! + fx * probs[b + k]!) + fy * ((1 - fx) * probs[c + k]! + fx * probs[d + k]!);
        p[j] = v;
        sum += v;
        if (v > p[best]!) best = j;
      });
      const i = y * width + x;
      const norm = sum > 0 ? 1 / sum : 0;
      labelMap[i] = indices[kept[best]!]!;
      confidenceMap[i] = p[best]! * norm;
      if (logitsMap) for (let j = 0; j < kept.length; j++) logitsMap[j * plane + i] = p[j]! * norm;
    }
  }
}

/** The prediction at the image's size from probabilities [size, size, outputs] of the whole image. */
export function predictionMaps(probs: Float32Array, size: number, options: MapOptions): SegmentationPrediction {
  const maps = emptyPrediction(options);
  const { width, height } = options;
  paintPrediction(maps, probs, size, options.indices, { left: 0, top: 0, width, height }, { left: 0, top: 0, right: width, bottom: height });
  return maps;
}

/**
 * Paints a window's prediction, probabilities [size, size, outputs], into a
 * large image's maps for the pixels its core owns: the cores tile the image,
 * so stitching every sliding window fills each pixel once, without seams.
 */
export function stitchWindow(maps: SegmentationPrediction, probs: Float32Array, size: number, indices: readonly number[], window: PlannedWindow): void {
  paintPrediction(maps, probs, size, indices, window, corePixels(window));
}

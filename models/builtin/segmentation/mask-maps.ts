/**
 * Between masks at the image's size and the network's size×size maps.
 * Training: annotation masks become a map of output indices, sampled at
 * pixel centres (nearest neighbour: class indices must not blend).
 * Inference: class probabilities are resized bilinearly back to the image,
 * then each pixel takes its most probable class, so boundaries fall between
 * the network's pixels rather than on a blocky grid.
 */
import type { SegmentationMaskAnnotation, SegmentationPrediction } from '../../../libs/plugin/data.js';
import { decodeMask } from '../../../libs/plugin/masks.js';

/**
 * A size×size map of outputs (via `lookup`: mask index → output, −1 =
 * ignored) of one or more masks; where masks overlap, a later mask's
 * labelled pixels win.
 */
export function targetMap(masks: readonly SegmentationMaskAnnotation[], size: number, lookup: Int16Array): Int16Array {
  const out = new Int16Array(size * size).fill(-1);
  for (const mask of masks) {
    const indices = decodeMask(mask);
    const { width, height } = mask;
    for (let y = 0; y < size; y++) {
      const row = Math.min(height - 1, Math.floor(((y + 0.5) * height) / size)) * width;
      for (let x = 0; x < size; x++) {
        const output = lookup[indices[row + Math.min(width - 1, Math.floor(((x + 0.5) * width) / size))]!]!;
        if (output >= 0) out[y * size + x] = output;
      }
    }
  }
  return out;
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

export interface MapOptions {
  /** Mask index each output predicts; −1 = not predicted (its probability is dropped and the rest renormalized). */
  indices: readonly number[];
  width: number;
  height: number;
  /** Include the per-class probability planes (the predicted outputs only, in output order). */
  logits: boolean;
}

/** The prediction at the image's size from probabilities [size, size, outputs]. */
export function predictionMaps(probs: Float32Array, size: number, { indices, width, height, logits }: MapOptions): SegmentationPrediction {
  const outputs = indices.length;
  const kept = indices.flatMap((index, k) => (index >= 0 ? [k] : []));
  const pixels = width * height;
  const labelMap = new Uint8Array(pixels);
  const confidenceMap = new Float32Array(pixels);
  const logitsMap = logits ? new Float32Array(kept.length * pixels) : undefined;
  const xs = samples(size, width);
  const ys = samples(size, height);
  const p = new Float32Array(kept.length);
  for (let y = 0; y < height; y++) {
    const fy = ys.frac[y]!;
    const r0 = ys.lo[y]! * size;
    const r1 = ys.hi[y]! * size;
    for (let x = 0; x < width; x++) {
      const fx = xs.frac[x]!;
      const [a, b, c, d] = [(r0 + xs.lo[x]!) * outputs, (r0 + xs.hi[x]!) * outputs, (r1 + xs.lo[x]!) * outputs, (r1 + xs.hi[x]!) * outputs];
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
      if (logitsMap) for (let j = 0; j < kept.length; j++) logitsMap[j * pixels + i] = p[j]! * norm;
    }
  }
  return { width, height, labelMap, confidenceMap, ...(logitsMap ? { logitsMap, numClasses: kept.length } : {}) };
}

/**
 * Training-time augmentations, applied while a batch is assembled: random
 * horizontal flip, random crop (rescaled back to full size, nearest
 * neighbour), random shift (translation at full scale; pixels shifted in
 * from outside repeat the nearest edge) and colour jitter (brightness,
 * contrast, per-channel gain).
 *
 * One draw (a Transform) is applied to an image and to its target alike:
 * augmentInto for the pixels, mapPoint for coordinates (boxes, points) and
 * warpNearest for dense maps (masks), so geometry always stays consistent.
 */
export interface Augmentations {
  flip: boolean;
  /** Up to this fraction of each side is cropped away; 0 = off. */
  crop: number;
  /** Up to this fraction of a side the image moves, in x and y independently; 0 = off. */
  shift: number;
  /** Strength of brightness/contrast/gain changes, e.g. 0.2 = ±20 %; 0 = off. */
  colourJitter: number;
}

export const NO_AUGMENTATION: Augmentations = { flip: false, crop: 0, shift: 0, colourJitter: 0 };

/** Whether `aug` leaves every image as it is (resolved options are equal to NO_AUGMENTATION, not the same object). */
export const changesNothing = (aug: Augmentations): boolean => !aug.flip && aug.crop === 0 && aug.shift === 0 && aug.colourJitter === 0;

/**
 * One drawn augmentation. The crop window is in relative units of the source: [x0, x0 + side] × [y0, y0 + side];
 * a shift moves it past the source's edges, where the edge pixels repeat.
 */
export interface Transform {
  x0: number;
  y0: number;
  side: number;
  flip: boolean;
  brightness: number;
  contrast: number;
  gain: [number, number, number];
}

export const IDENTITY: Transform = { x0: 0, y0: 0, side: 1, flip: false, brightness: 1, contrast: 1, gain: [1, 1, 1] };

export function drawTransform(aug: Augmentations, random: () => number): Transform {
  const side = 1 - random() * aug.crop;
  const x0 = random() * (1 - side);
  const y0 = random() * (1 - side);
  const flip = aug.flip && random() < 0.5;
  const jitter = (s: number) => 1 + (random() * 2 - 1) * s;
  const brightness = jitter(aug.colourJitter);
  const contrast = jitter(aug.colourJitter);
  const gain: Transform['gain'] = [jitter(aug.colourJitter / 2), jitter(aug.colourJitter / 2), jitter(aug.colourJitter / 2)];
  // Drawn last and only when on, so settings without a shift draw the same transforms as before it existed.
  const dx = aug.shift > 0 ? (random() * 2 - 1) * aug.shift : 0;
  const dy = aug.shift > 0 ? (random() * 2 - 1) * aug.shift : 0;
  return { x0: x0 + dx, y0: y0 + dy, side, flip, brightness, contrast, gain };
}

/** Where relative point (x, y) of the source lands in the transformed image (may fall outside [0, 1]). */
export function mapPoint(t: Transform, x: number, y: number): [number, number] {
  const u = (x - t.x0) / t.side;
  return [t.flip ? 1 - u : u, (y - t.y0) / t.side];
}

/** Index `i` held within [0, size - 1]: past an edge, the edge pixel. */
const clamp = (i: number, size: number): number => (i < 0 ? 0 : i >= size ? size - 1 : i);

/** For each pixel of a size×size output, the index of the source pixel (size×size) it is sampled from. */
function sourcePixels(t: Transform, size: number): Int32Array {
  const index = new Int32Array(size * size);
  for (let y = 0; y < size; y++) {
    const sy = clamp(Math.floor((t.y0 + ((y + 0.5) / size) * t.side) * size), size);
    for (let x = 0; x < size; x++) {
      const u = ((t.flip ? size - 1 - x : x) + 0.5) / size;
      index[y * size + x] = sy * size + clamp(Math.floor((t.x0 + u * t.side) * size), size);
    }
  }
  return index;
}

/**
 * Writes image `src` (size×size×3 bytes) into `out` at `offset` as floats in
 * [0, 1], transformed by `t`.
 */
export function augmentInto(src: Uint8Array, size: number, t: Transform, out: Float32Array, offset: number): void {
  const from = sourcePixels(t, size);
  for (let i = 0; i < from.length; i++) {
    const s = from[i]! * 3;
    const to = offset + i * 3;
    for (let c = 0; c < 3; c++) {
      const v = ((src[s + c]! / 255 - 0.5) * t.contrast + 0.5) * t.brightness * t.gain[c]!;
      out[to + c] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
}

/** Geometry only: a size×size×channels map (e.g. a mask) resampled by `t` into `out` at `offset`. */
export function warpNearest(src: ArrayLike<number>, size: number, channels: number, t: Transform, out: Float32Array, offset: number): void {
  const from = sourcePixels(t, size);
  for (let i = 0; i < from.length; i++) {
    for (let c = 0; c < channels; c++) out[offset + i * channels + c] = src[from[i]! * channels + c]!;
  }
}

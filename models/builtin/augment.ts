/**
 * Training-time augmentations, applied while a batch is assembled: random
 * horizontal flip, random crop (rescaled back to full size, nearest
 * neighbour) and colour jitter (brightness, contrast, per-channel gain).
 */
export interface Augmentations {
  flip: boolean;
  /** Up to this fraction of each side is cropped away; 0 = off. */
  crop: number;
  /** Strength of brightness/contrast/gain changes, e.g. 0.2 = ±20 %; 0 = off. */
  colourJitter: number;
}

export const NO_AUGMENTATION: Augmentations = { flip: false, crop: 0, colourJitter: 0 };

/**
 * Writes image `src` (size×size×3 bytes) into `out` at `offset` as floats in
 * [0, 1], transformed as drawn from `random`.
 */
export function augmentInto(src: Uint8Array, size: number, aug: Augmentations, random: () => number, out: Float32Array, offset: number): void {
  const side = size * (1 - random() * aug.crop);
  const x0 = random() * (size - side);
  const y0 = random() * (size - side);
  const scale = side / size;
  const flip = aug.flip && random() < 0.5;
  const jitter = (s: number) => 1 + (random() * 2 - 1) * s;
  const brightness = jitter(aug.colourJitter);
  const contrast = jitter(aug.colourJitter);
  const gain = [jitter(aug.colourJitter / 2), jitter(aug.colourJitter / 2), jitter(aug.colourJitter / 2)];
  for (let y = 0; y < size; y++) {
    const sy = Math.min(size - 1, Math.floor(y0 + (y + 0.5) * scale));
    for (let x = 0; x < size; x++) {
      const sx = Math.min(size - 1, Math.floor(x0 + ((flip ? size - 1 - x : x) + 0.5) * scale));
      const from = (sy * size + sx) * 3;
      const to = offset + (y * size + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = ((src[from + c]! / 255 - 0.5) * contrast + 0.5) * brightness * gain[c]!;
        out[to + c] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
}

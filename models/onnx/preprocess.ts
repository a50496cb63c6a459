/**
 * Network inputs from images: size×size RGB bytes (as the image loader and
 * the tiling windows give them) → float32 in the manifest's layout, channel
 * order and normalization, several images one after another in one buffer.
 */
import type { Manifest } from './manifest.js';

/** The input's shape without the batch dimension. */
export const inputShape = ({ input: { size, layout } }: Manifest): number[] => (layout === 'NCHW' ? [3, size, size] : [size, size, 3]);

/** One batch of images as the graph's input (`slots` inputs; slots past the images stay zero, for graphs with a fixed batch). */
export function toInput(m: Manifest, images: readonly Uint8Array[], slots = images.length): Float32Array {
  const { size, layout, channels, scale, mean, std } = m.input;
  const plane = size * size;
  const out = new Float32Array(slots * plane * 3);
  // Source channel of each input channel: BGR graphs take blue first.
  const from = channels === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  images.forEach((rgb, n) => {
    if (rgb.length !== plane * 3) throw new Error(`image ${n} has ${rgb.length} bytes, ${size}×${size} RGB has ${plane * 3}`);
    const base = n * plane * 3;
    for (let c = 0; c < 3; c++) {
      const src = from[c]!;
      const a = scale / std[c]!;
      const b = -mean[c]! / std[c]!;
      if (layout === 'NCHW') {
        const o = base + c * plane;
        for (let i = 0; i < plane; i++) out[o + i] = rgb[i * 3 + src]! * a + b;
      } else {
        for (let i = 0; i < plane; i++) out[base + i * 3 + c] = rgb[i * 3 + src]! * a + b;
      }
    }
  });
  return out;
}

import sharp from 'sharp';

/** The demo's classes: kinds of aerial tiles, each with its own palette. */
export const TILE_CLASSES = [
  { name: 'savanna', color: '#c8a45a', palette: [[200, 164, 90], [170, 140, 70], [120, 110, 60]] },
  { name: 'water', color: '#3a6ea5', palette: [[58, 110, 165], [40, 80, 130], [90, 140, 190]] },
  { name: 'forest', color: '#2f6b3a', palette: [[47, 107, 58], [30, 80, 40], [80, 130, 70]] },
] as const;

/** A seeded generator, so the demo is the same every run. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An aerial-looking tile: noisy patches of its class's palette, with some
 * pixels of other classes mixed in (so some tiles are ambiguous and the
 * ranker has something to rank), encoded as JPEG.
 */
export async function drawTile(classIndex: number, random: () => number, size = 64): Promise<Buffer> {
  const pixels = Buffer.alloc(size * size * 3);
  const mix = random() * 0.45;
  const other = (classIndex + 1 + Math.floor(random() * 2)) % TILE_CLASSES.length;
  for (let i = 0; i < size * size; i++) {
    const cls = random() < mix ? other : classIndex;
    const palette = TILE_CLASSES[cls]!.palette;
    const [r, g, b] = palette[Math.floor(random() * palette.length)]!;
    const jitter = () => Math.round((random() - 0.5) * 30);
    pixels[i * 3] = Math.max(0, Math.min(255, r + jitter()));
    pixels[i * 3 + 1] = Math.max(0, Math.min(255, g + jitter()));
    pixels[i * 3 + 2] = Math.max(0, Math.min(255, b + jitter()));
  }
  return sharp(pixels, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

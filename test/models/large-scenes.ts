/**
 * Generated large images for tiling tests: a noisy background whose colour
 * changes block by block, with circles and crosses (shapes.ts) at given
 * places, each drawn only over its own extent (so a 4000×4000 image takes
 * well under a second), annotated as tight bounding boxes in relative
 * coordinates and as a class index per pixel, and written as PNG under
 * <root>/<project>/.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import seedrandom from 'seedrandom';
import sharp from 'sharp';
import type { BoundingBoxAnnotation } from '../../libs/plugin/data.js';
import { inside, PROJECT, shapeIndex, type Shape } from './shapes.js';

export interface LargeObject {
  shape: Shape;
  cx: number;
  cy: number;
  r: number;
}

/** Side of the background's blocks of one colour. */
const BLOCK = 250;

/** `count` random objects not touching each other (or `taken`), radius in `radius`, inside width×height. */
export function scatter(random: () => number, width: number, height: number, count: number, shapes: readonly Shape[], radius: readonly [number, number], taken: readonly LargeObject[] = []): LargeObject[] {
  const placed = [...taken];
  for (let tries = 0; placed.length < taken.length + count && tries < 100 * count; tries++) {
    const r = radius[0] + random() * (radius[1] - radius[0]);
    const cx = r + 1 + random() * (width - 2 * r - 2);
    const cy = r + 1 + random() * (height - 2 * r - 2);
    if (placed.every((p) => Math.hypot(p.cx - cx, p.cy - cy) > p.r + r + 8)) placed.push({ shape: shapes[Math.floor(random() * shapes.length)]!, cx, cy, r });
  }
  return placed.slice(taken.length);
}

export interface LargeScene {
  /** Each object's tight box, relative. */
  boxes: BoundingBoxAnnotation[];
  /** Per pixel the class index of its object's shape (shapeIndex), 0 for background; row-major. */
  classes: Uint8Array;
}

/** Draws `objects` into a width×height PNG at <root>/<project>/<filename>. */
export async function writeLargeScene(root: string, filename: string, width: number, height: number, objects: readonly LargeObject[], seed: string): Promise<LargeScene> {
  const random = seedrandom(seed);
  const blocksX = Math.ceil(width / BLOCK);
  const blocks = Array.from({ length: blocksX * Math.ceil(height / BLOCK) }, () => [0, 1, 2].map(() => random() * 255));
  const bgAt = (x: number, y: number) => blocks[Math.floor(y / BLOCK) * blocksX + Math.floor(x / BLOCK)]!;
  // Cheap per-pixel noise (an LCG): seedrandom per pixel would dominate the time.
  let state = Math.floor(random() * 2 ** 32);
  const noise = () => { state = (Math.imul(state, 1664525) + 1013904223) >>> 0; return (state / 2 ** 32 - 0.5) * 30; };
  const pixels = Buffer.alloc(width * height * 3);
  const paint = (x: number, y: number, colour: readonly number[]) => {
    for (let c = 0; c < 3; c++) pixels[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, colour[c]! + noise()));
  };
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) paint(x, y, bgAt(x, y));
  const classes = new Uint8Array(width * height);
  const boxes = objects.map((o, k): BoundingBoxAnnotation => {
    const colour = bgAt(o.cx, o.cy).map((v) => (v + 90 + random() * 75) % 256);
    let [x0, y0, x1, y1] = [width, height, 0, 0];
    for (let y = Math.max(0, Math.floor(o.cy - o.r - 1)); y < Math.min(height, Math.ceil(o.cy + o.r + 1)); y++) {
      for (let x = Math.max(0, Math.floor(o.cx - o.r - 1)); x < Math.min(width, Math.ceil(o.cx + o.r + 1)); x++) {
        if (!inside[o.shape](x + 0.5 - o.cx, y + 0.5 - o.cy, o.r)) continue;
        paint(x, y, colour);
        classes[y * width + x] = shapeIndex(o.shape);
        [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x + 1), Math.max(y1, y + 1)];
      }
    }
    return { id: `${filename}-${k}`, label: `lc-${o.shape}`, unsure: false, x: (x0 + x1) / 2 / width, y: (y0 + y1) / 2 / height, width: (x1 - x0) / width, height: (y1 - y0) / height };
  });
  const file = path.join(root, PROJECT, filename);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, await sharp(pixels, { raw: { width, height, channels: 3 } }).png({ compressionLevel: 1 }).toBuffer());
  return { boxes, classes };
}

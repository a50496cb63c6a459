/**
 * Generated detection scenes: 64×64 PNGs with a few coloured shapes
 * (circle, square, triangle, cross; shapes.ts) at random non-overlapping
 * positions over a noisy random background, annotated as tight bounding
 * boxes or as centre points, written under <root>/<project>/ for a
 * LocalFileSource.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import seedrandom from 'seedrandom';
import sharp from 'sharp';
import type { BoundingBoxAnnotation, PointAnnotation, TrainingData } from '../../libs/plugin/data.js';
import { inside, labelClasses, PROJECT, SHAPES, SIZE, type Shape } from './shapes.js';

export interface SceneOptions {
  kind: 'boxes' | 'points';
  shapes?: readonly Shape[];
  /** Objects per image, inclusive range. */
  objects: readonly [number, number];
  /** Shape radius in pixels, range. */
  radius: readonly [number, number];
}

interface Placed {
  shape: Shape;
  cx: number;
  cy: number;
  r: number;
}

function place(random: () => number, o: SceneOptions, shapes: readonly Shape[]): Placed[] {
  const n = o.objects[0] + Math.floor(random() * (o.objects[1] - o.objects[0] + 1));
  const placed: Placed[] = [];
  for (let tries = 0; placed.length < n && tries < 200; tries++) {
    const r = o.radius[0] + random() * (o.radius[1] - o.radius[0]);
    const cx = r + random() * (SIZE - 2 * r);
    const cy = r + random() * (SIZE - 2 * r);
    if (placed.every((p) => Math.hypot(p.cx - cx, p.cy - cy) > p.r + r + 2)) placed.push({ shape: shapes[Math.floor(random() * shapes.length)]!, cx, cy, r });
  }
  return placed;
}

/** Pixels and annotations of one scene (boxes: tight around the drawn pixels). */
function drawScene(random: () => number, o: SceneOptions, shapes: readonly Shape[], id: string) {
  const objects = place(random, o, shapes);
  const pixels = Buffer.alloc(SIZE * SIZE * 3);
  const bg = [0, 1, 2].map(() => random() * 255);
  const colours = objects.map(() => bg.map((v) => (v + 90 + random() * 75) % 256));
  const extents = objects.map(() => ({ x0: SIZE, y0: SIZE, x1: 0, y1: 0 }));
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const k = objects.findIndex((p) => inside[p.shape](x + 0.5 - p.cx, y + 0.5 - p.cy, p.r));
      if (k >= 0) {
        const e = extents[k]!;
        [e.x0, e.y0, e.x1, e.y1] = [Math.min(e.x0, x), Math.min(e.y0, y), Math.max(e.x1, x + 1), Math.max(e.y1, y + 1)];
      }
      const colour = k >= 0 ? colours[k]! : bg;
      for (let c = 0; c < 3; c++) pixels[(y * SIZE + x) * 3 + c] = Math.max(0, Math.min(255, colour[c]! + (random() - 0.5) * 30));
    }
  }
  const annotations = objects.map((p, k): BoundingBoxAnnotation | PointAnnotation => {
    const common = { id: `${id}-${k}`, label: `lc-${p.shape}`, unsure: false };
    if (o.kind === 'points') return { ...common, x: p.cx / SIZE, y: p.cy / SIZE };
    const e = extents[k]!;
    return { ...common, x: (e.x0 + e.x1) / 2 / SIZE, y: (e.y0 + e.y1) / 2 / SIZE, width: (e.x1 - e.x0) / SIZE, height: (e.y1 - e.y0) / SIZE };
  });
  return { pixels, annotations };
}

/** `count` annotated scenes under <root>/shapes/<split>/. */
export async function makeScenes(root: string, split: string, count: number, seed: number, o: SceneOptions): Promise<TrainingData<BoundingBoxAnnotation | PointAnnotation>> {
  const shapes = o.shapes ?? SHAPES;
  const random = seedrandom(`${split}:${seed}`);
  await mkdir(path.join(root, PROJECT, split), { recursive: true });
  const images: TrainingData<BoundingBoxAnnotation | PointAnnotation>['images'] = {};
  for (let k = 0; k < count; k++) {
    const id = `${split}-${k}`;
    const { pixels, annotations } = drawScene(random, o, shapes, id);
    const filename = `${split}/scene-${k}.png`;
    await writeFile(path.join(root, PROJECT, filename), await sharp(pixels, { raw: { width: SIZE, height: SIZE, channels: 3 } }).png().toBuffer());
    images[id] = { filename, annotations };
  }
  return { images, labelClasses: labelClasses(shapes) };
}

type Scenes = TrainingData<BoundingBoxAnnotation | PointAnnotation>;

/** The two halves of `data` (alternate images). */
export const halves = <D extends Scenes>(data: D): D[] =>
  [0, 1].map((h) => ({ ...data, images: Object.fromEntries(Object.entries(data.images).filter((_, i) => i % 2 === h)) }));

/** `data` without annotations of `label` (as after deleting that class), and without the class. */
export function withoutClass<D extends Scenes>(data: D, label: string): D {
  const images = Object.fromEntries(Object.entries(data.images).map(([id, image]) => [id, { ...image, annotations: image.annotations!.filter((a) => a.label !== label) }]));
  const { [label]: _, ...labelClasses } = data.labelClasses;
  return { ...data, images, labelClasses };
}

/** `data` with only the images that hold nothing of class `label`. */
export const withoutImagesOf = <D extends Scenes>(data: D, label: string): D =>
  ({ ...data, images: Object.fromEntries(Object.entries(data.images).filter(([, image]) => image.annotations!.every((a) => a.label !== label))) });

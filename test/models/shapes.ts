/**
 * Generated image-label data: 64×64 PNGs of four shapes (circle, square,
 * triangle, cross) at random positions, sizes and colours over noisy random
 * backgrounds, written under <root>/<project>/ for a LocalFileSource.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import seedrandom from 'seedrandom';
import sharp from 'sharp';
import type { LabelAnnotation, LabelClass, TrainingData } from '../../libs/plugin/data.js';

export const SHAPES = ['circle', 'square', 'triangle', 'cross'] as const;
export type Shape = (typeof SHAPES)[number];
export const SIZE = 64;
export const PROJECT = 'shapes';

/** Whether offset (dx, dy) from a shape's centre lies inside it at radius r. */
export const inside: Record<Shape, (dx: number, dy: number, r: number) => boolean> = {
  circle: (dx, dy, r) => dx * dx + dy * dy <= r * r,
  square: (dx, dy, r) => Math.abs(dx) <= r * 0.85 && Math.abs(dy) <= r * 0.85,
  triangle: (dx, dy, r) => dy >= -r && dy <= r && Math.abs(dx) <= (dy + r) / 2,
  cross: (dx, dy, r) => (Math.abs(dx) <= r / 3 && Math.abs(dy) <= r) || (Math.abs(dy) <= r / 3 && Math.abs(dx) <= r),
};

function drawShape(shape: Shape, random: () => number): Buffer {
  const pixels = Buffer.alloc(SIZE * SIZE * 3);
  const r = 9 + random() * 12;
  const cx = r + random() * (SIZE - 2 * r);
  const cy = r + random() * (SIZE - 2 * r);
  const bg = [0, 1, 2].map(() => random() * 255);
  // Foreground far enough from the background to be visible.
  const fg = bg.map((v) => (v + 90 + random() * 75) % 256);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const colour = inside[shape](x - cx, y - cy, r) ? fg : bg;
      for (let c = 0; c < 3; c++) pixels[(y * SIZE + x) * 3 + c] = Math.max(0, Math.min(255, colour[c]! + (random() - 0.5) * 30));
    }
  }
  return pixels;
}

/** A shape's class index (LabelClass.index, as in segmentation masks). */
export const shapeIndex = (shape: Shape) => SHAPES.indexOf(shape) + 1;

export const labelClasses = (shapes: readonly Shape[] = SHAPES): Record<string, LabelClass> =>
  Object.fromEntries(shapes.map((s) => [`lc-${s}`, { name: s, color: null, index: shapeIndex(s) }]));

/** `perShape` images of each shape under <root>/shapes/<split>/, labelled. */
export async function makeShapeSet(root: string, split: string, perShape: number, seed: number, shapes: readonly Shape[] = SHAPES): Promise<TrainingData<LabelAnnotation>> {
  const random = seedrandom(`${split}:${seed}`);
  const dir = path.join(root, PROJECT, split);
  await mkdir(dir, { recursive: true });
  const images: TrainingData<LabelAnnotation>['images'] = {};
  for (let k = 0; k < perShape; k++) {
    for (const shape of shapes) {
      const filename = `${split}/${shape}-${k}.png`;
      const png = await sharp(drawShape(shape, random), { raw: { width: SIZE, height: SIZE, channels: 3 } }).png().toBuffer();
      await writeFile(path.join(root, PROJECT, filename), png);
      images[`${split}-${shape}-${k}`] = { filename, annotations: [{ id: `a-${split}-${shape}-${k}`, label: `lc-${shape}`, unsure: false }] };
    }
  }
  return { images, labelClasses: labelClasses(shapes) };
}

/** `data` with only the images `keep` accepts (by id and position). */
export function subset(data: TrainingData<LabelAnnotation>, keep: (id: string, index: number) => boolean): TrainingData<LabelAnnotation> {
  return { ...data, images: Object.fromEntries(Object.entries(data.images).filter(([id], i) => keep(id, i))) };
}

/**
 * The detector's network output → boxes for one square network input:
 * heatmap peaks (heatmap/peaks.ts) with their regressed size, clipped to the
 * input, then greedy non-maximum suppression across classes (one box per
 * object, whatever its class). Relative coordinates of that input, x/y the
 * centre, so a caller tiling a large image only has to place them.
 */
import { findPeaks } from '../heatmap/peaks.js';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
  classIndex: number;
  /** Raw heatmap logits of every class at the box's centre. */
  logits: number[];
}

export interface BoxOptions {
  grid: number;
  classes: number;
  threshold: number;
  /** Boxes overlapping a stronger one by more than this IoU are dropped. */
  nmsIoU: number;
  maxBoxes: number;
  allowed?: readonly boolean[];
}

type Extent = Pick<Box, 'x' | 'y' | 'width' | 'height'>;

export function iou(a: Extent, b: Extent): number {
  const w = Math.min(a.x + a.width / 2, b.x + b.width / 2) - Math.max(a.x - a.width / 2, b.x - b.width / 2);
  const h = Math.min(a.y + a.height / 2, b.y + b.height / 2) - Math.max(a.y - a.height / 2, b.y - b.height / 2);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Whether each box's centre lies inside the other: one object however differently sized (e.g. by two windows). */
export const centresInside = (a: Extent, b: Extent): boolean =>
  Math.abs(a.x - b.x) < Math.min(a.width, b.width) / 2 && Math.abs(a.y - b.y) < Math.min(a.height, b.height) / 2;

/** Greedy NMS: strongest first, dropping boxes that overlap a kept one too much (or that `same` calls one object). */
export function suppress<B extends Extent>(boxes: readonly B[], maxIoU: number, score: (b: B) => number, same?: (a: B, b: B) => boolean): B[] {
  const kept: B[] = [];
  for (const box of [...boxes].sort((a, b) => score(b) - score(a))) {
    if (kept.every((k) => iou(k, box) <= maxIoU && !same?.(k, box))) kept.push(box);
  }
  return kept;
}

export function decodeBoxes(output: Float32Array, o: BoxOptions): Box[] {
  // More candidates than kept boxes, so that NMS has room to work.
  const peaks = findPeaks(output, { ...o, regression: 4, maxPeaks: 4 * o.maxBoxes });
  const boxes = peaks.map(({ x, y, score, classIndex, logits, extra: [logW, logH] }) => {
    const [w, h] = [Math.exp(logW!) / o.grid, Math.exp(logH!) / o.grid];
    const [x0, x1] = [Math.max(0, x - w / 2), Math.min(1, x + w / 2)];
    const [y0, y1] = [Math.max(0, y - h / 2), Math.min(1, y + h / 2)];
    return { x: (x0 + x1) / 2, y: (y0 + y1) / 2, width: x1 - x0, height: y1 - y0, score, classIndex, logits };
  });
  return suppress(boxes.filter((b) => b.width > 0 && b.height > 0), o.nmsIoU, (b) => b.score).slice(0, o.maxBoxes);
}

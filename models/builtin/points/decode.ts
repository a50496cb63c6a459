/**
 * The point model's network output → points for one square network input:
 * heatmap peaks (heatmap/peaks.ts), then greedy suppression of weaker points
 * closer than a minimum distance to a kept one. Relative coordinates.
 */
import { findPeaks, type Peak } from '../heatmap/peaks.js';

export type Point = Omit<Peak, 'extra'>;

export interface PointOptions {
  grid: number;
  classes: number;
  threshold: number;
  /** Relative distance under which the weaker of two points is dropped. */
  minDistance: number;
  maxPoints: number;
  allowed?: readonly boolean[];
}

export function decodePoints(output: Float32Array, o: PointOptions): Point[] {
  const kept: Point[] = [];
  for (const { extra: _, ...point } of findPeaks(output, { ...o, regression: 2, maxPeaks: 4 * o.maxPoints })) {
    if (kept.every((k) => Math.hypot(k.x - point.x, k.y - point.y) >= o.minDistance)) kept.push(point);
  }
  return kept.slice(0, o.maxPoints);
}

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

/**
 * Greedy thinning of points sorted strongest first: a point closer than
 * `minDistance` to a kept one goes; offsets are scaled by `scaleX`/`scaleY`
 * before measuring (e.g. relative → pixels).
 */
export function thinPoints<P extends { x: number; y: number }>(sorted: Iterable<P>, minDistance: number, scaleX = 1, scaleY = 1): P[] {
  const kept: P[] = [];
  for (const p of sorted) {
    if (kept.every((k) => Math.hypot((k.x - p.x) * scaleX, (k.y - p.y) * scaleY) >= minDistance)) kept.push(p);
  }
  return kept;
}

export function decodePoints(output: Float32Array, o: PointOptions): Point[] {
  const peaks = findPeaks(output, { ...o, regression: 2, maxPeaks: 4 * o.maxPoints }).map(({ extra: _, ...point }) => point);
  return thinPoints(peaks, o.minDistance).slice(0, o.maxPoints);
}

/**
 * How well predicted points hit annotated ones: a prediction counts if it
 * has the class of a still unmatched annotated point within `radius`
 * (relative), strongest predictions first. Recall over annotated points,
 * precision over predictions.
 */
import { matchGreedy } from '../heatmap/matching.js';

interface Located {
  x: number;
  y: number;
  classIndex: number;
}

export interface PointImage {
  truths: readonly Located[];
  detections: readonly (Located & { score: number })[];
}

export function pointRecallPrecision(images: readonly PointImage[], radius: number): { recall: number; precision: number } {
  let [hits, truths, detections] = [0, 0, 0];
  for (const image of images) {
    const closeness = (p: Located, g: Located) => (p.classIndex === g.classIndex ? -Math.hypot(p.x - g.x, p.y - g.y) : -Infinity);
    hits += matchGreedy(image.detections, image.truths, closeness, -radius).filter((m) => m.truth >= 0).length;
    truths += image.truths.length;
    detections += image.detections.length;
  }
  return { recall: truths > 0 ? hits / truths : 1, precision: detections > 0 ? hits / detections : 1 };
}

/**
 * Mean average precision at an IoU threshold (VOC-style, all-point
 * interpolation): per class, detections of all images ranked by score, a
 * detection true if it matches a still unmatched box of its class in its
 * image; AP = area under the interpolated precision–recall curve; the mean
 * over the classes that have ground truth.
 */
import { matchGreedy } from '../heatmap/matching.js';
import { iou, type Box } from './boxes.js';

export type Truth = Pick<Box, 'x' | 'y' | 'width' | 'height' | 'classIndex'>;

export interface ScoredImage {
  truths: readonly Truth[];
  detections: readonly (Truth & Pick<Box, 'score'>)[];
}

function averagePrecision(ranked: { score: number; hit: boolean }[], truths: number): number {
  ranked.sort((a, b) => b.score - a.score);
  const precision: number[] = [];
  const recall: number[] = [];
  let hits = 0;
  ranked.forEach((r, i) => {
    if (r.hit) hits++;
    precision.push(hits / (i + 1));
    recall.push(hits / truths);
  });
  // Precision made monotone from the right, integrated over recall steps.
  for (let i = precision.length - 2; i >= 0; i--) precision[i] = Math.max(precision[i]!, precision[i + 1]!);
  let ap = 0;
  let previous = 0;
  recall.forEach((r, i) => { ap += (r - previous) * precision[i]!; previous = r; });
  return ap;
}

export function meanAveragePrecision(images: readonly ScoredImage[], classes: number, minIoU = 0.5): number {
  const aps: number[] = [];
  for (let c = 0; c < classes; c++) {
    const ranked: { score: number; hit: boolean }[] = [];
    let truths = 0;
    for (const image of images) {
      const own = image.truths.filter((t) => t.classIndex === c);
      truths += own.length;
      const matches = matchGreedy(image.detections.filter((d) => d.classIndex === c), own, iou, minIoU);
      for (const { prediction, truth } of matches) ranked.push({ score: prediction.score, hit: truth >= 0 });
    }
    if (truths > 0) aps.push(averagePrecision(ranked, truths));
  }
  return aps.length === 0 ? 0 : aps.reduce((a, b) => a + b, 0) / aps.length;
}

/**
 * Intersection-over-union of predicted segmentation label maps against the
 * truth (class index per pixel), per class and averaged, over the classes
 * that occur in either.
 */
import type { ImagePredictionsMap, SegmentationPrediction } from '../../libs/plugin/data.js';

/** Image id → the truth, row-major at the image's size. */
export type MaskTruth = Record<string, Uint8Array>;

/** IoU of each class that occurs (pixels whose truth `skip` names do not count). */
export function classIoUs(predictions: ImagePredictionsMap<SegmentationPrediction>, truth: MaskTruth, skip: (index: number) => boolean = () => false): Map<number, number> {
  const intersection = new Map<number, number>();
  const union = new Map<number, number>();
  const add = (m: Map<number, number>, k: number) => m.set(k, (m.get(k) ?? 0) + 1);
  for (const [id, t] of Object.entries(truth)) {
    const { labelMap } = predictions[id]!.predictions[0]!;
    for (let i = 0; i < t.length; i++) {
      if (skip(t[i]!)) continue;
      add(union, t[i]!);
      if (labelMap[i] === t[i]) add(intersection, t[i]!);
      else add(union, labelMap[i]!);
    }
  }
  return new Map([...union].map(([k, u]) => [k, (intersection.get(k) ?? 0) / u]));
}

export function meanIoU(predictions: ImagePredictionsMap<SegmentationPrediction>, truth: MaskTruth, skip?: (index: number) => boolean): number {
  const ious = [...classIoUs(predictions, truth, skip).values()];
  return ious.reduce((a, b) => a + b, 0) / ious.length;
}

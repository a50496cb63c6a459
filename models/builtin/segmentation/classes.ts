/**
 * Which classes a segmentation state has outputs for, and how mask pixels
 * (LabelClass.index, 0 = unlabelled) map to outputs and back. Pixels 0 are
 * "background" unless the project ignores unlabelled pixels; then they are
 * left out of the loss and no output stands for them. A project that counts
 * them as background normally has a class of index 0 (AIDE adds one); where
 * it has none, the state keeps an implicit background output of its own.
 */
import type { LabelClass, TrainingData } from '../../../libs/plugin/data.js';
import { classOrder } from '../label-classes.js';

/** The state's id for its implicit background output (pixels 0, where the project has no class of index 0). */
export const BACKGROUND = '__background__';

/** Mask values are bytes. */
const INDICES = 256;

/** Output classes of a training round, in output order: the project's by index, background first. */
export function outputClasses({ labelClasses, ignoreUnlabeled }: Pick<TrainingData, 'labelClasses' | 'ignoreUnlabeled'>): string[] {
  const ids = classOrder(labelClasses).filter((id) => labelClasses[id]!.index > 0);
  if (ignoreUnlabeled) return ids;
  const background = Object.keys(labelClasses).find((id) => labelClasses[id]!.index === 0) ?? BACKGROUND;
  return [background, ...ids];
}

/** The mask index (LabelClass.index) each output predicts, or −1 where the project no longer has its class. */
export function outputIndices(classes: readonly string[], labelClasses: Record<string, LabelClass>): number[] {
  return classes.map((id) => (id === BACKGROUND ? 0 : labelClasses[id]?.index ?? -1));
}

/** Mask index → output (−1: ignored), for every byte value. */
export function outputLookup(classes: readonly string[], labelClasses: Record<string, LabelClass>): Int16Array {
  const lookup = new Int16Array(INDICES).fill(-1);
  outputIndices(classes, labelClasses).forEach((index, k) => { if (index >= 0 && index < INDICES) lookup[index] = k; });
  return lookup;
}

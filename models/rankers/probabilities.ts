/**
 * Class-probability vectors of predictions, the input of every uncertainty
 * criterion. Models report `logits` either as probabilities or as raw scores;
 * our rule: a vector whose values all lie in [0, 1] and sum to 1 (±1e-3) is
 * taken as probabilities, anything else is passed through softmax. Without
 * (at least two) logits, the confidence c of the predicted class is all we
 * know, and we take the two-class view [c, 1 − c].
 */
import type { LabelPrediction, SegmentationPrediction } from '../../libs/plugin/data.js';

const SUM_TOLERANCE = 1e-3;

function isDistribution(values: ArrayLike<number>): boolean {
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!(v >= 0 && v <= 1)) return false;
    sum += v;
  }
  return Math.abs(sum - 1) <= SUM_TOLERANCE;
}

/** softmax(x)_k = exp(x_k − max x) / Σ_j exp(x_j − max x); the shift avoids overflow. */
function softmax(values: ArrayLike<number>, out: Float64Array): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]!);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += (out[i] = Math.exp(values[i]! - max));
  for (let i = 0; i < values.length; i++) out[i]! /= sum;
  return out;
}

/** Probabilities from probabilities-or-logits, written into `out` (reused per pixel). */
export function toProbabilities(values: ArrayLike<number>, out = new Float64Array(values.length)): Float64Array {
  if (isDistribution(values)) {
    for (let i = 0; i < values.length; i++) out[i] = values[i]!;
    return out;
  }
  return softmax(values, out);
}

function twoClassView(confidence: number, out = new Float64Array(2)): Float64Array {
  const c = Math.min(1, Math.max(0, confidence));
  out[0] = c;
  out[1] = 1 - c;
  return out;
}

/** Probabilities of a label, point or box prediction; throws if it has neither logits nor confidence. */
export function predictionProbabilities(p: LabelPrediction): Float64Array {
  return probabilitiesOf(p.logits ?? [], p.confidence, p.id);
}

/** Probabilities from a prediction's logits (two or more) or else its confidence (or its only logit); throws if there is neither. */
export function probabilitiesOf(logits: ArrayLike<number>, confidence: number | undefined, id?: string): Float64Array {
  if (logits.length >= 2) return toProbabilities(logits);
  const c = confidence ?? logits[0];
  if (c === undefined || !Number.isFinite(c)) {
    throw new Error(`${id ? `prediction ${id}` : 'a prediction'} has neither logits nor a confidence to rank by`);
  }
  return twoClassView(c);
}

/**
 * Calls `visit` with the probabilities of every pixel of a segmentation
 * prediction: from the C×H×W logits map when present, else the two-class
 * view of the confidence map. The array passed is reused between pixels.
 */
export function forEachPixelProbabilities(p: SegmentationPrediction, visit: (probs: Float64Array) => void): void {
  const pixels = p.width * p.height;
  if (p.confidenceMap.length !== pixels) throw new Error(`confidence map has ${p.confidenceMap.length} values, expected ${pixels}`);
  const classes = p.logitsMap && p.logitsMap.length > 0 ? (p.numClasses || p.logitsMap.length / Math.max(pixels, 1)) : 0;
  if (classes >= 2) {
    if (p.logitsMap!.length !== classes * pixels) throw new Error(`logits map has ${p.logitsMap!.length} values, expected ${classes}×${pixels}`);
    const column = new Float64Array(classes);
    const probs = new Float64Array(classes);
    for (let i = 0; i < pixels; i++) {
      for (let c = 0; c < classes; c++) column[c] = p.logitsMap![c * pixels + i]!;
      visit(toProbabilities(column, probs));
    }
    return;
  }
  const probs = new Float64Array(2);
  for (let i = 0; i < pixels; i++) visit(twoClassView(p.confidenceMap[i]!, probs));
}

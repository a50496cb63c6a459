/**
 * A ranker defined by a criterion on one class-probability vector (see
 * probabilities.ts for how vectors are obtained). Labels, points and boxes:
 * the criterion of the prediction's vector. Segmentation: the mean of the
 * per-pixel criterion over all pixels of the image's prediction.
 */
import { isSegmentationPrediction, type Prediction, type PredictionColumns } from '../../libs/plugin/data.js';
import { forEachPixelProbabilities, predictionProbabilities, probabilitiesOf } from './probabilities.js';
import { PredictionRanker } from './prediction-ranker.js';

export abstract class UncertaintyRanker extends PredictionRanker {
  /** Priority in [0, 1] from probabilities p (length ≥ 2, summing to 1). */
  protected abstract criterion(p: Float64Array): number;

  protected override scorer(): (prediction: Prediction) => number {
    return (prediction) => {
      if (!isSegmentationPrediction(prediction)) return this.criterion(predictionProbabilities(prediction));
      let sum = 0;
      forEachPixelProbabilities(prediction, (p) => { sum += this.criterion(p); });
      const pixels = prediction.width * prediction.height;
      return pixels === 0 ? 0 : sum / pixels;
    };
  }

  /** The criterion of each prediction's vector, as rank() computes it, without building a prediction object per row. */
  rankColumns({ count, confidence, logits, logitsStart }: PredictionColumns, priorities: Float64Array): void {
    for (let i = 0; i < count; i++) {
      const p = probabilitiesOf(logits.subarray(logitsStart[i]!, logitsStart[i + 1]!), confidence[i]);
      priorities[i] = Math.min(1, Math.max(0, this.criterion(p)));
    }
  }
}

/** The largest and second-largest entries of p. */
export function topTwo(p: Float64Array): [number, number] {
  let first = -Infinity;
  let second = -Infinity;
  for (const v of p) {
    if (v > first) { second = first; first = v; } else if (v > second) second = v;
  }
  return [first, second];
}

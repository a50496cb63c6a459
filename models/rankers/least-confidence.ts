import type { PluginMetadataInput } from '../../libs/plugin/metadata.js';
import { topTwo, UncertaintyRanker } from './uncertainty-ranker.js';

/**
 * Least confidence: priority = 1 − p₁, where p₁ is the probability of the
 * most likely class (at most 1 − 1/C; not rescaled, so values stay
 * comparable across class counts).
 */
export class LeastConfidenceRanker extends UncertaintyRanker {
  static readonly metadata: PluginMetadataInput = {
    kind: 'ranker',
    key: 'builtin.least_confidence',
    name: 'Least confidence',
    author: 'AIDE',
    description: 'Prioritizes the predictions whose most likely class is least probable.',
    predictionType: ['labels', 'points', 'boundingBoxes', 'segmentationMasks'],
  };

  protected override criterion(p: Float64Array): number {
    return 1 - topTwo(p)[0];
  }
}

import type { PluginMetadataInput } from '../../libs/plugin/metadata.js';
import { topTwo, UncertaintyRanker } from './uncertainty-ranker.js';

/**
 * Max confidence: priority = p₁, the probability of the most likely class.
 * Puts the model's surest predictions first (e.g. to confirm likely finds).
 */
export class MaxConfidenceRanker extends UncertaintyRanker {
  static readonly metadata: PluginMetadataInput = {
    kind: 'ranker',
    key: 'builtin.max_confidence',
    name: 'Max confidence',
    author: 'AIDE',
    description: 'Prioritizes the predictions the model is most confident about.',
    predictionType: ['labels', 'points', 'boundingBoxes', 'segmentationMasks'],
  };

  protected override criterion(p: Float64Array): number {
    return topTwo(p)[0];
  }
}

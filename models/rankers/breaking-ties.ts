import type { PluginMetadataInput } from '../../libs/plugin/metadata.js';
import { topTwo, UncertaintyRanker } from './uncertainty-ranker.js';

/**
 * Breaking ties (margin sampling): priority = 1 − (p₁ − p₂), with p₁ ≥ p₂ the
 * two largest class probabilities. 1 when the top two classes tie, 0 when the
 * model is certain.
 */
export class BreakingTiesRanker extends UncertaintyRanker {
  static readonly metadata: PluginMetadataInput = {
    kind: 'ranker',
    key: 'builtin.breaking_ties',
    name: 'Breaking ties',
    author: 'AIDE',
    description: 'Prioritizes predictions whose two most likely classes are closest (small margin).',
    predictionType: ['labels', 'points', 'boundingBoxes', 'segmentationMasks'],
  };

  protected override criterion(p: Float64Array): number {
    const [first, second] = topTwo(p);
    return 1 - (first - second);
  }
}

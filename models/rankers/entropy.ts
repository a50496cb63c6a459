import type { PluginMetadataInput } from '../../libs/plugin/metadata.js';
import { UncertaintyRanker } from './uncertainty-ranker.js';

/**
 * Entropy: priority = −Σₖ pₖ ln pₖ / ln C over the C classes (0 ln 0 = 0).
 * Dividing by ln C, the entropy of the uniform distribution, maps it to [0, 1].
 */
export class EntropyRanker extends UncertaintyRanker {
  static readonly metadata: PluginMetadataInput = {
    kind: 'ranker',
    key: 'builtin.entropy',
    name: 'Entropy',
    author: 'AIDE',
    description: 'Prioritizes predictions with the most spread-out class probabilities (highest entropy).',
    predictionType: ['labels', 'points', 'boundingBoxes', 'segmentationMasks'],
  };

  protected override criterion(p: Float64Array): number {
    let h = 0;
    for (const v of p) if (v > 0) h -= v * Math.log(v);
    return h / Math.log(p.length);
  }
}

import seedrandom from 'seedrandom';
import type { PluginContext, PluginOptions } from '../../libs/plugin/context.js';
import type { PluginMetadataInput } from '../../libs/plugin/metadata.js';
import { getOptionValue } from '../../libs/plugin/options.js';
import type { VerifyOptionsResult } from '../../libs/plugin/plugin.js';
import { PredictionRanker } from './prediction-ranker.js';

const SEED_PATH = ['options', 'seed'];
const DEFAULT_SEED = 0;

const DEFAULT_OPTIONS = {
  options: {
    seed: {
      name: 'Random seed',
      description: 'The same seed and input give the same priorities.',
      type: 'int',
      value: DEFAULT_SEED,
    },
  },
};

/** The seed from options (GUI node or plain number); undefined if absent, an error text if not an integer. */
function readSeed(options: PluginOptions): number | undefined | string {
  const seed = getOptionValue(options, SEED_PATH);
  if (seed === undefined) return undefined;
  return Number.isSafeInteger(seed) ? (seed as number) : `options.seed must be an integer, got ${JSON.stringify(seed)}`;
}

/**
 * Random: priority drawn uniformly from [0, 1) per prediction (segmentation:
 * per image prediction), from a generator seeded at construction, so a
 * fresh ranker with the same seed gives the same data the same priorities.
 * A baseline for active learning.
 */
export class RandomRanker extends PredictionRanker {
  static readonly metadata: PluginMetadataInput = {
    kind: 'ranker',
    key: 'builtin.random',
    name: 'Random',
    author: 'AIDE',
    description: 'Random priorities (seeded): the baseline any criterion should beat.',
    predictionType: ['labels', 'points', 'boundingBoxes', 'segmentationMasks'],
  };

  static override getDefaultOptions(): string {
    return JSON.stringify(DEFAULT_OPTIONS, null, 2);
  }

  static override verifyOptions(options: PluginOptions): VerifyOptionsResult {
    const seed = readSeed(options);
    if (typeof seed === 'string') return { valid: false, errors: [seed], options };
    if (seed === undefined) return { valid: true, warnings: [`no seed given; using ${DEFAULT_SEED}`], options: DEFAULT_OPTIONS };
    return { valid: true, options };
  }

  /** One stream per instance: successive rank() calls (batches) continue it rather than repeat it. */
  private readonly next: () => number;

  constructor(ctx: PluginContext) {
    super(ctx);
    const seed = readSeed(ctx.options);
    if (typeof seed === 'string') throw new Error(seed);
    this.next = seedrandom(String(seed ?? DEFAULT_SEED));
  }

  protected override scorer(): () => number {
    return this.next;
  }
}

/**
 * The loop every built-in ranker shares: visit each prediction of each image,
 * set its priority (clamped to [0, 1]), report progress, stop on abort.
 * Priorities are written into the given data, which is returned, as the seed's
 * rankers do.
 */
import type { PluginContext, PluginOptions } from '../../libs/plugin/context.js';
import type { Prediction, RankData } from '../../libs/plugin/data.js';
import type { RankExtra, Ranker, UpdateState, VerifyOptionsResult } from '../../libs/plugin/plugin.js';

/** About this many progress reports per rank() call. */
const PROGRESS_STEPS = 100;

export abstract class PredictionRanker implements Ranker {
  protected readonly options: PluginOptions;

  constructor(ctx: PluginContext) {
    this.options = ctx.options;
  }

  /** These rankers take no options by default. */
  static getDefaultOptions(): string {
    return JSON.stringify({}, null, 2);
  }

  static verifyOptions(options: PluginOptions): VerifyOptionsResult {
    const ignored = Object.keys(options);
    return { valid: true, warnings: ignored.length > 0 ? [`this ranker takes no options; ignored: ${ignored.join(', ')}`] : [], options: {} };
  }

  /**
   * The scoring function of one rank() call: priority of one prediction,
   * clamped to [0, 1] by the caller; called in data order.
   */
  protected abstract scorer(): (prediction: Prediction) => number;

  async rank(data: RankData, updateState: UpdateState, extra?: RankExtra): Promise<RankData> {
    const images = Object.values(data);
    const every = Math.max(1, Math.ceil(images.length / PROGRESS_STEPS));
    const priorityOf = this.scorer();
    for (const [done, image] of images.entries()) {
      extra?.signal?.throwIfAborted();
      for (const prediction of image.predictions) {
        prediction.priority = Math.min(1, Math.max(0, priorityOf(prediction)));
      }
      if ((done + 1) % every === 0 || done + 1 === images.length) updateState('PROGRESS', 'ranking', done + 1, images.length);
    }
    return data;
  }
}

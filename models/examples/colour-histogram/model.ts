/**
 * A tiny but real prediction model for image labels: nearest centroid over
 * colour histograms. Training averages each class's histograms into a
 * centroid; inference softmaxes the negative L1 distances to the centroids.
 * It supports adding and removing label classes (centroids are independent)
 * and exact weighted averaging of states trained in parallel.
 */
import type { PluginContext, PluginOptions } from '../../../libs/plugin/context.js';
import type { InferenceData, InferenceResult, LabelAnnotation, LabelPrediction, TrainingData } from '../../../libs/plugin/data.js';
import type { PluginMetadataInput } from '../../../libs/plugin/metadata.js';
import type { AIModel, TrainResult, UpdateState, VerifyOptionsResult } from '../../../libs/plugin/plugin.js';
import { isUnreadable, NOT_FOUND_REASON, type Unreadable } from '../../../libs/plugin/unreadable.js';
import { colourHistogram, l1Distance } from './histogram.js';
import { defaultOptionsJson, resolveSettings, type HistogramSettings } from './settings.js';
import { decodeState, emptyState, encodeState, type Centroid, type HistogramState } from './state.js';

export class ColourHistogramModel implements AIModel {
  static readonly metadata: PluginMetadataInput = {
    kind: 'model',
    key: 'examples.colour_histogram',
    name: 'Colour histogram (example)',
    author: 'AIDE mesh',
    description: 'Nearest-centroid image classifier on RGB colour histograms. See <a href="docs/custom-model.md" target="_blank">the custom model guide</a>.',
    annotationType: 'labels',
    predictionType: 'labels',
    canAddLabelClasses: true,
    canRemoveLabelClasses: true,
  };

  static getDefaultOptions(): string {
    return defaultOptionsJson();
  }

  static verifyOptions(options: PluginOptions): VerifyOptionsResult {
    const { warnings, errors, options: completed } = resolveSettings(options);
    return { valid: errors.length === 0, warnings, errors, options: completed };
  }

  /** A state is JSON: checked whole when the head holds all of it, else by its first character. */
  static verifyState(head: Uint8Array, size: number): void {
    if (head.length >= size) decodeState(head);
    else if (head[0] !== 0x7b) throw new Error('not a colour-histogram model state: it does not start with "{"');
  }

  private readonly settings: HistogramSettings;

  constructor(private readonly ctx: PluginContext) {
    const { settings, errors } = resolveSettings(ctx.options);
    if (errors.length > 0) throw new Error(errors.join('; '));
    this.settings = settings;
  }

  /** The histogram of an image, or why the file cannot be read (reported by the job). */
  private async features(filename: string, state: HistogramState): Promise<Float64Array | Unreadable> {
    const bytes = await this.ctx.fileServer.getFile(filename);
    if (!bytes) return { unreadable: NOT_FOUND_REASON };
    try {
      return await colourHistogram(bytes, state);
    } catch (err) {
      return { unreadable: `not a readable image (${(err as Error).message})` };
    }
  }

  async train(stateDict: Uint8Array | null, data: TrainingData<LabelAnnotation>, updateState: UpdateState, signal?: AbortSignal): Promise<TrainResult> {
    // An existing state keeps its feature settings; options shape fresh models only.
    const state = stateDict ? decodeState(stateDict) : emptyState(this.settings);
    // Classes removed from the project disappear; new ones get a centroid below.
    for (const id of Object.keys(state.centroids)) if (!(id in data.labelClasses)) delete state.centroids[id];

    const images = Object.values(data.images);
    let used = 0;
    const unreadable: Record<string, string> = {};
    for (const [done, [id, image]] of Object.entries(data.images).entries()) {
      signal?.throwIfAborted();
      const labels = (image.annotations ?? []).map((a) => a.label).filter((l): l is string => !!l && l in data.labelClasses);
      const histogram = labels.length > 0 ? await this.features(image.filename, state) : null;
      if (histogram && isUnreadable(histogram)) {
        unreadable[id] = histogram.unreadable;
      } else if (histogram) {
        used++;
        for (const label of new Set(labels)) addToCentroid(state.centroids, label, histogram);
      }
      updateState('PROGRESS', 'training', done + 1, images.length);
    }
    return { state: encodeState(state), stats: { images: used, classes: Object.keys(state.centroids).length }, unreadable };
  }

  async averageModelStates(stateDicts: Uint8Array[], updateState: UpdateState, weights?: number[], signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    const states = stateDicts.map(decodeState);
    if (states.length === 0) throw new Error('no model states to average');
    const merged: HistogramState = { ...states[0]!, centroids: {} };
    // Per class: centroids weighted by the worker's image count (FedAvg), or equally without counts.
    const totals: Record<string, number> = {};
    states.forEach((s, i) => {
      if (s.bins !== merged.bins || s.imageSize !== merged.imageSize) throw new Error('model states were trained with different settings');
      const w = weights?.[i] ?? 1;
      for (const [id, c] of Object.entries(s.centroids)) {
        const into = (merged.centroids[id] ??= { mean: new Array<number>(c.mean.length).fill(0), count: 0 });
        c.mean.forEach((v, k) => { into.mean[k]! += w * v; });
        into.count += w * c.count;
        totals[id] = (totals[id] ?? 0) + w;
      }
    });
    for (const [id, c] of Object.entries(merged.centroids)) {
      c.mean = c.mean.map((v) => v / totals[id]!);
      c.count = Math.round(c.count / totals[id]!);
    }
    updateState('PROGRESS', 'averaging', states.length, states.length);
    return encodeState(merged);
  }

  async inference(stateDict: Uint8Array | null, data: InferenceData, updateState: UpdateState, signal?: AbortSignal): Promise<InferenceResult> {
    if (!stateDict) throw new Error('the colour-histogram model must be trained before inference');
    const state = decodeState(stateDict);
    // Logits follow the project's class order (LabelClass.index) among the classes the state knows.
    const classes = Object.entries(data.labelClasses)
      .filter(([id]) => id in state.centroids)
      .sort(([, a], [, b]) => a.index - b.index)
      .map(([id]) => id);
    const result: InferenceResult = {};
    const entries = Object.entries(data.images);
    for (const [done, [id, image]] of entries.entries()) {
      signal?.throwIfAborted();
      const histogram = classes.length > 0 ? await this.features(image.filename, state) : null;
      if (histogram && isUnreadable(histogram)) result[id] = { predictions: [], unreadable: histogram.unreadable };
      else result[id] = { predictions: histogram ? [this.classify(histogram, classes, state)] : [] };
      updateState('PROGRESS', 'predicting', done + 1, entries.length);
    }
    return result;
  }

  /** p_k ∝ exp(−d_k / T), d_k the L1 distance to centroid k. */
  private classify(histogram: Float64Array, classes: string[], state: HistogramState): LabelPrediction {
    const scores = classes.map((id) => -l1Distance(histogram, state.centroids[id]!.mean) / this.settings.temperature);
    const max = Math.max(...scores);
    const exp = scores.map((s) => Math.exp(s - max));
    const sum = exp.reduce((a, b) => a + b, 0);
    const logits = exp.map((e) => e / sum);
    const best = logits.indexOf(Math.max(...logits));
    return { label: classes[best]!, confidence: logits[best]!, logits };
  }
}

/** Running mean: the centroid moves by (x − mean) / n. */
function addToCentroid(centroids: Record<string, Centroid>, label: string, histogram: Float64Array): void {
  const c = (centroids[label] ??= { mean: new Array<number>(histogram.length).fill(0), count: 0 });
  c.count++;
  for (let k = 0; k < histogram.length; k++) c.mean[k]! += (histogram[k]! - c.mean[k]!) / c.count;
}

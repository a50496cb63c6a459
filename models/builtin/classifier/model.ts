/**
 * "labels": the built-in image classifier. A compact CNN (classifier/network.ts)
 * trained from scratch or continued from a state, data-parallel over worker
 * threads, with augmentations; label classes can be added and removed, states
 * trained in parallel are averaged weighted by image counts. train() reports
 * loss and accuracy on a held-out split with the state.
 */
import type { PluginContext, PluginOptions } from '../../../libs/plugin/context.js';
import type { InferenceData, InferenceResult, LabelAnnotation, TrainingData } from '../../../libs/plugin/data.js';
import type { PluginMetadataInput } from '../../../libs/plugin/metadata.js';
import type { AIModel, TrainResult, UpdateState, VerifyOptionsResult } from '../../../libs/plugin/plugin.js';
import type { Example } from '../batch.js';
import { averageClassStates, classOrder, withClasses, type Head } from '../head-classes.js';
import { isHeldOut } from '../held-out.js';
import { loadImages } from '../image-loader.js';
import { initialParameters } from '../network.js';
import { predictFiles, predictImages } from '../predict.js';
import { withPool } from '../pool-cache.js';
import type { ReplicaPool } from '../replica-pool.js';
import { decodeModelState, encodeState, optionsHash, type ModelState } from '../state-format.js';
import { trainLoop } from '../train-loop.js';
import { CLASSIFIER_NETWORK, classifierSpecs, HEAD_BIAS, HEAD_KERNEL, oneHotTargets, type ClassifierArch } from './network.js';
import { defaultOptionsJson, resolveSettings, type ClassifierSettings } from './settings.js';

const KEY = 'builtin.labels';
const HEAD: Head = { kernel: HEAD_KERNEL, bias: HEAD_BIAS };

export class LabelsClassifier implements AIModel {
  static readonly metadata: PluginMetadataInput = {
    kind: 'model',
    key: KEY,
    name: 'Image classifier (compact CNN)',
    author: 'AIDE mesh',
    description: 'A small convolutional network for image labels, trained on the CPU or GPU; configurable width, depth and input size, with flip, crop and colour-jitter augmentation. Supports adding and removing label classes.',
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

  private readonly settings: ClassifierSettings;

  constructor(private readonly ctx: PluginContext) {
    const { settings, errors } = resolveSettings(ctx.options);
    if (errors.length > 0) throw new Error(errors.join('; '));
    this.settings = settings;
  }

  private decode(stateDict: Uint8Array): ModelState {
    return decodeModelState(stateDict, KEY, (arch) => classifierSpecs(arch as ClassifierArch));
  }

  /** A new network for `classes`; options shape fresh models only (a state keeps its architecture). */
  private fresh(classes: string[]): ModelState {
    const { inputSize, width, depth, seed } = this.settings;
    const arch: ClassifierArch = { inputSize, width, depth, classes: classes.length };
    return {
      header: { model: KEY, arch, labelClasses: classes, optionsHash: optionsHash(this.ctx.options) },
      tensors: initialParameters(classifierSpecs(arch), seed),
    };
  }

  /** Runs `use` on replicas of the network (a warm pool where one is kept). */
  private withPool<T>(arch: ClassifierArch, use: (pool: ReplicaPool) => Promise<T>): Promise<T> {
    return withPool({ networkModule: CLASSIFIER_NETWORK, arch, threads: this.settings.threads, backend: this.settings.backend }, use);
  }

  async train(stateDict: Uint8Array | null, data: TrainingData<LabelAnnotation>, updateState: UpdateState, signal?: AbortSignal): Promise<TrainResult> {
    const started = performance.now();
    const classes = classOrder(data.labelClasses);
    if (classes.length === 0) throw new Error('the project has no label classes to train on');
    const state = stateDict ? withClasses(this.decode(stateDict), classes, HEAD) : this.fresh(classes);
    const arch = state.header.arch as ClassifierArch;
    const { seed, validationFraction } = this.settings;

    const index = new Map(classes.map((id, k) => [id, k]));
    const labelled = Object.entries(data.images).flatMap(([id, image]) => {
      const label = (image.annotations ?? []).map((a) => a.label).find((l): l is string => !!l && index.has(l));
      return label ? [{ id, filename: image.filename, target: index.get(label)! }] : [];
    });
    const pixels = await loadImages(this.ctx.fileServer, labelled.map((l) => l.filename), arch.inputSize, signal,
      (done) => updateState('PROGRESS', 'loading images', done, labelled.length));
    const examples = labelled.flatMap((l, i) => (pixels[i] ? [{ ...l, image: pixels[i]! }] : []));
    const heldOut = examples.filter((e) => isHeldOut(e.id, validationFraction, seed));
    const training: Example<number>[] = examples.filter((e) => !isHeldOut(e.id, validationFraction, seed));
    if (training.length === 0) throw new Error('no readable labelled images to train on');

    const params = state.tensors.map((t) => Float32Array.from(t.data));
    return this.withPool(arch, async (pool) => {
      const { trainLoss } = await trainLoop(pool, params, training, oneHotTargets(arch.classes), { ...this.settings, size: arch.inputSize }, updateState, signal);
      const probs = await predictImages(pool, params, heldOut.map((e) => e.image), arch.inputSize, this.settings.batchSize, signal);
      const correct = heldOut.filter((e, i) => argmax(probs[i]!) === e.target).length;
      const heldOutLoss = heldOut.reduce((sum, e, i) => sum - Math.log(Math.max(probs[i]![e.target]!, 1e-12)), 0) / Math.max(1, heldOut.length);
      const seconds = (performance.now() - started) / 1000;
      const stats: Record<string, number> = {
        images: training.length,
        epochs: this.settings.epochs,
        trainLoss,
        heldOutImages: heldOut.length,
        ...(heldOut.length > 0 ? { heldOutAccuracy: correct / heldOut.length, heldOutLoss } : {}),
        seconds,
      };
      const trained: ModelState = {
        header: { ...state.header, optionsHash: optionsHash(this.ctx.options), stats },
        tensors: state.tensors.map((t, i) => ({ ...t, data: params[i]! })),
      };
      return { state: encodeState(trained), stats };
    });
  }

  async averageModelStates(stateDicts: Uint8Array[], updateState: UpdateState, weights?: number[], signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    const averaged = averageClassStates(stateDicts.map((s) => this.decode(s)), HEAD, weights);
    updateState('PROGRESS', 'averaging', stateDicts.length, stateDicts.length);
    return encodeState(averaged);
  }

  async inference(stateDict: Uint8Array | null, data: InferenceData, updateState: UpdateState, signal?: AbortSignal): Promise<InferenceResult> {
    if (!stateDict) throw new Error('the classifier must be trained before inference');
    const state = this.decode(stateDict);
    const arch = state.header.arch as ClassifierArch;
    // Only classes the project still has can be predicted.
    const known = Object.keys(data.labelClasses).length > 0 ? state.header.labelClasses.map((id) => id in data.labelClasses) : state.header.labelClasses.map(() => true);
    const params = state.tensors.map((t) => t.data);
    const entries = Object.entries(data.images).map(([id, image]) => [id, image.filename] as const);
    const result: InferenceResult = {};
    await this.withPool(arch, async (pool) => {
      let done = 0;
      for await (const chunk of predictFiles(pool, params, this.ctx.fileServer, entries, arch.inputSize, this.settings.batchSize, signal)) {
        for (const { id, output } of chunk) result[id] = { predictions: output ? [prediction(output, state.header.labelClasses, known)] : [] };
        done += chunk.length;
        updateState('PROGRESS', 'predicting', done, entries.length);
      }
    });
    return result;
  }
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** The most probable known class; logits = probabilities over the known classes, in state order. */
function prediction(probs: Float32Array, classes: readonly string[], known: readonly boolean[]) {
  const ids = classes.filter((_, k) => known[k]);
  const kept = Array.from(probs).filter((_, k) => known[k]);
  const sum = kept.reduce((a, b) => a + b, 0) || 1;
  const logits = kept.map((p) => p / sum);
  const best = argmax(logits);
  return { label: ids[best], confidence: logits[best], logits };
}

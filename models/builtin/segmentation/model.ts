/**
 * "segmentationMasks": the built-in semantic segmentation model. A small
 * U-Net (segmentation/network.ts) trained from scratch or continued from a
 * state, data-parallel over worker threads, with augmentations applied to
 * image and mask alike. Honours ignoreUnlabeled (classes.ts); label classes
 * can be added and removed; states trained in parallel are averaged weighted
 * by image counts. Predictions are label, confidence and (optionally)
 * per-class probability maps at each image's own size; logitsMap planes
 * follow the state's output order (by class index), restricted to the
 * classes the project still has. train() reports held-out statistics.
 */
import type { PluginContext, PluginOptions } from '../../../libs/plugin/context.js';
import {
  isSegmentationMaskAnnotation, type Annotation, type InferenceData, type InferenceResult, type SegmentationMaskAnnotation, type TrainingData,
} from '../../../libs/plugin/data.js';
import type { PluginMetadataInput } from '../../../libs/plugin/metadata.js';
import type { AIModel, TrainResult, UpdateState, VerifyOptionsResult } from '../../../libs/plugin/plugin.js';
import type { Example } from '../batch.js';
import { averageClassStates, withClasses, type ClassHead } from '../label-classes.js';
import { isHeldOut } from '../held-out.js';
import { loadImages } from '../image-loader.js';
import { initialParameters } from '../network.js';
import { predictFiles, predictImages } from '../predict.js';
import { withPool } from '../pool-cache.js';
import type { ReplicaPool } from '../replica-pool.js';
import { decodeModelState, encodeState, optionsHash, type ModelState } from '../state-format.js';
import { trainLoop } from '../train-loop.js';
import { outputClasses, outputIndices, outputLookup } from './classes.js';
import { heldOutStats } from './held-out-stats.js';
import { predictionMaps, targetMap } from './mask-maps.js';
import { softmaxRows } from './softmax.js';
import { HEAD_BIAS, HEAD_KERNEL, maskTargets, SEGMENTATION_NETWORK, segmentationSpecs, type SegmentationArch } from './network.js';
import { defaultOptionsJson, resolveSettings, type SegmentationSettings } from './settings.js';

const KEY = 'builtin.segmentationMasks';
const HEAD: ClassHead = { kernel: HEAD_KERNEL, bias: HEAD_BIAS };

const masksOf = (annotations: readonly Annotation[] | undefined): SegmentationMaskAnnotation[] =>
  (annotations ?? []).filter(isSegmentationMaskAnnotation);

export class SegmentationModel implements AIModel {
  static readonly metadata: PluginMetadataInput = {
    kind: 'model',
    key: KEY,
    name: 'Semantic segmentation (small U-Net)',
    author: 'AIDE mesh',
    description: 'A small U-Net for segmentation masks, trained on the CPU or GPU; configurable width, depth and input size, with flip, crop and colour-jitter augmentation. Honours "ignore unlabelled pixels"; supports adding and removing label classes.',
    annotationType: 'segmentationMasks',
    predictionType: 'segmentationMasks',
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

  private readonly settings: SegmentationSettings;

  constructor(private readonly ctx: PluginContext) {
    const { settings, errors } = resolveSettings(ctx.options);
    if (errors.length > 0) throw new Error(errors.join('; '));
    this.settings = settings;
  }

  private decode(stateDict: Uint8Array): ModelState {
    return decodeModelState(stateDict, KEY, (arch) => segmentationSpecs(arch as SegmentationArch));
  }

  /** A new network for `classes`; options shape fresh models only (a state keeps its architecture). */
  private fresh(classes: string[]): ModelState {
    const { inputSize, width, depth, seed } = this.settings;
    const arch: SegmentationArch = { inputSize, width, depth, classes: classes.length };
    return {
      header: { model: KEY, arch, labelClasses: classes, optionsHash: optionsHash(this.ctx.options) },
      tensors: initialParameters(segmentationSpecs(arch), seed),
    };
  }

  /** Runs `use` on replicas of the network (a warm pool where one is kept). */
  private withPool<T>(arch: SegmentationArch, use: (pool: ReplicaPool) => Promise<T>): Promise<T> {
    return withPool({ networkModule: SEGMENTATION_NETWORK, arch, threads: this.settings.threads, backend: this.settings.backend }, use);
  }

  async train(stateDict: Uint8Array | null, data: TrainingData, updateState: UpdateState, signal?: AbortSignal): Promise<TrainResult> {
    const started = performance.now();
    const classes = outputClasses(data);
    if (classes.length === 0) throw new Error('the project has no label classes to train on');
    const state = stateDict ? withClasses(this.decode(stateDict), classes, HEAD) : this.fresh(classes);
    const arch = state.header.arch as SegmentationArch;
    const { seed, validationFraction } = this.settings;

    const lookup = outputLookup(classes, data.labelClasses);
    const annotated = Object.entries(data.images).flatMap(([id, image]) => {
      const masks = masksOf(image.annotations);
      return masks.length > 0 ? [{ id, filename: image.filename, masks }] : [];
    });
    const pixels = await loadImages(this.ctx.fileServer, annotated.map((a) => a.filename), arch.inputSize, signal,
      (done) => updateState('PROGRESS', 'loading images', done, annotated.length));
    const targetOf = ({ id, masks }: (typeof annotated)[number]) => {
      try {
        return targetMap(masks, arch.inputSize, lookup);
      } catch (err) {
        throw new Error(`image ${id}: ${(err as Error).message}`);
      }
    };
    // Images whose masks label no pixel that counts teach nothing.
    const examples = annotated.flatMap((a, i) => {
      const target = pixels[i] ? targetOf(a) : undefined;
      return target && target.some((v) => v >= 0) ? [{ id: a.id, image: pixels[i]!, target }] : [];
    });
    const heldOut = examples.filter((e) => isHeldOut(e.id, validationFraction, seed));
    const training: Example<Int16Array>[] = examples.filter((e) => !isHeldOut(e.id, validationFraction, seed));
    if (training.length === 0) throw new Error('no readable images with labelled mask pixels to train on');

    const params = state.tensors.map((t) => Float32Array.from(t.data));
    return this.withPool(arch, async (pool) => {
      const { trainLoss } = await trainLoop(pool, params, training, maskTargets(arch.inputSize), { ...this.settings, size: arch.inputSize }, updateState, signal);
      const logits = await predictImages(pool, params, heldOut.map((e) => e.image), arch.inputSize, this.settings.batchSize, signal);
      const probs = logits.map((l) => softmaxRows(l, arch.classes));
      const stats: Record<string, number> = {
        images: training.length,
        epochs: this.settings.epochs,
        trainLoss,
        heldOutImages: heldOut.length,
        ...heldOutStats(probs, heldOut.map((e) => e.target), arch.classes),
        seconds: (performance.now() - started) / 1000,
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
    if (!stateDict) throw new Error('the segmentation model must be trained before inference');
    const state = this.decode(stateDict);
    const arch = state.header.arch as SegmentationArch;
    // Only classes the project still has can be predicted.
    const indices = outputIndices(state.header.labelClasses, data.labelClasses);
    if (!indices.some((index) => index > 0)) throw new Error('the project has none of the label classes this model state predicts');
    const params = state.tensors.map((t) => t.data);
    const entries = Object.entries(data.images).map(([id, image]) => [id, image.filename] as const);
    const result: InferenceResult = {};
    await this.withPool(arch, async (pool) => {
      let done = 0;
      for await (const chunk of predictFiles(pool, params, this.ctx.fileServer, entries, arch.inputSize, this.settings.batchSize, signal)) {
        for (const { id, image, output } of chunk) {
          const maps = image && output ? predictionMaps(softmaxRows(output, arch.classes), arch.inputSize, { indices, width: image.width, height: image.height, logits: this.settings.logitsMaps }) : undefined;
          result[id] = { predictions: maps ? [maps] : [] };
        }
        done += chunk.length;
        updateState('PROGRESS', 'predicting', done, entries.length);
      }
    });
    return result;
  }
}

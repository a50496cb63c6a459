/**
 * "segmentationMasks": the built-in semantic segmentation model. A small
 * U-Net (segmentation/network.ts) trained like the other built-ins
 * (builtin-model.ts): continued or fresh, augmented with image and mask
 * alike, classes added and removed, states averaged. Honours
 * ignoreUnlabeled (classes.ts). Predictions are label, confidence and
 * (optionally) per-class probability maps at each image's own size;
 * logitsMap planes follow the state's output order (by class index),
 * restricted to the classes the project still has. train() reports pixel
 * accuracy, mean IoU and loss on a held-out split.
 */
import type { PluginContext } from '../../../libs/plugin/context.js';
import { isSegmentationMaskAnnotation, type Annotation, type SegmentationPrediction, type TrainingData } from '../../../libs/plugin/data.js';
import type { PluginMetadataInput } from '../../../libs/plugin/metadata.js';
import { BuiltinModel, verifyWith, type ImageContext, type TargetContext } from '../builtin-model.js';
import { outputClasses, outputIndices, outputLookup } from './classes.js';
import { heldOutStats } from './held-out-stats.js';
import { predictionMaps, targetMap } from './mask-maps.js';
import { HEAD, maskTargets, SEGMENTATION_NETWORK, segmentationSpecs, type SegmentationArch } from './network.js';
import { defaultOptionsJson, resolveSettings, type SegmentationSettings } from './settings.js';
import { softmaxRows } from './softmax.js';

export class SegmentationModel extends BuiltinModel<Int16Array, SegmentationArch, SegmentationSettings> {
  static readonly metadata: PluginMetadataInput = {
    kind: 'model',
    key: 'builtin.segmentationMasks',
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

  static readonly verifyOptions = verifyWith(resolveSettings);

  protected readonly key = SegmentationModel.metadata.key;
  protected readonly networkModule = SEGMENTATION_NETWORK;
  protected readonly head = HEAD;

  constructor(ctx: PluginContext) {
    super(ctx, resolveSettings);
  }

  protected specs(arch: SegmentationArch) {
    return segmentationSpecs(arch);
  }

  protected freshArch(classes: number): SegmentationArch {
    const { inputSize, width, depth } = this.settings;
    return { inputSize, width, depth, classes };
  }

  protected override outputClasses(data: TrainingData): string[] {
    return outputClasses(data);
  }

  /** The image's masks as a map of outputs at the input size; images whose masks label no pixel that counts teach nothing. */
  protected target(annotations: readonly Annotation[], classIndex: ReadonlyMap<string, number>, { arch, labelClasses }: TargetContext<SegmentationArch>): Int16Array | undefined {
    const masks = annotations.filter(isSegmentationMaskAnnotation);
    if (masks.length === 0) return undefined;
    const target = targetMap(masks, arch.inputSize, outputLookup([...classIndex.keys()], labelClasses));
    return target.some((v) => v >= 0) ? target : undefined;
  }

  protected encoder(arch: SegmentationArch) {
    return maskTargets(arch.inputSize);
  }

  protected evaluate(targets: readonly Int16Array[], logits: readonly Float32Array[], arch: SegmentationArch) {
    return { ...heldOutStats(logits.map((l) => softmaxRows(l, arch.classes)), targets, arch.classes) };
  }

  protected predictions(logits: Float32Array, arch: SegmentationArch, classes: readonly string[], _known: readonly boolean[], { width, height, labelClasses }: ImageContext): SegmentationPrediction[] {
    // Only classes the project still has can be predicted.
    const indices = outputIndices(classes, labelClasses);
    if (!indices.some((index) => index > 0)) throw new Error('the project has none of the label classes this model state predicts');
    return [predictionMaps(softmaxRows(logits, arch.classes), arch.inputSize, { indices, width, height, logits: this.settings.logitsMaps })];
  }
}

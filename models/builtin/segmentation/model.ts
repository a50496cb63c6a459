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
 *
 * With tiling on (tiling/), images are cut into windows, each resized to the
 * network input: training takes a window around each labelled area of the
 * masks (tiling/areas.ts) plus random negatives, the masks cut alike;
 * inference slides windows over the whole image and stitches their maps,
 * each pixel from the window whose core owns it (mask-maps.ts). One image is
 * open at a time.
 */
import type { SizedImage } from '../image-loader.js';
import type { Unreadable } from '../../../libs/plugin/unreadable.js';
import type { PluginContext } from '../../../libs/plugin/context.js';
import { isSegmentationMaskAnnotation, type Annotation, type LabelClass, type SegmentationPrediction, type TrainingData } from '../../../libs/plugin/data.js';
import type { PluginMetadataInput } from '../../../libs/plugin/metadata.js';
import { BuiltinModel, verifyBuiltinState, verifyWith, type ImageContext, type Predictor, type TargetContext, type UsableImage } from '../builtin-model.js';
import { labelledAreas } from '../tiling/areas.js';
import { poolPredictor, predictLargeImages } from '../tiling/sliding-inference.js';
import { windowExamples } from '../tiling/window-examples.js';
import { outputClasses, outputIndices, outputLookup } from './classes.js';
import { heldOutStats } from './held-out-stats.js';
import { emptyPrediction, outputMap, predictionMaps, stitchWindow, windowOutputs, type OutputMap } from './mask-maps.js';
import { HEAD, maskTargets, SEGMENTATION_NETWORK, segmentationSpecs, type SegmentationArch } from './network.js';
import { defaultOptionsJson, resolveSettings, type SegmentationSettings } from './settings.js';
import { softmaxRows } from './softmax.js';

/** The mask index each output predicts; only classes the project still has can be predicted. */
function predictedIndices(classes: readonly string[], labelClasses: Record<string, LabelClass>): number[] {
  const indices = outputIndices(classes, labelClasses);
  if (!indices.some((index) => index > 0)) throw new Error('the project has none of the label classes this model state predicts');
  return indices;
}

export class SegmentationModel extends BuiltinModel<OutputMap, SegmentationArch, SegmentationSettings> {
  static readonly metadata: PluginMetadataInput = {
    kind: 'model',
    key: 'builtin.segmentationMasks',
    name: 'Semantic segmentation (small U-Net)',
    author: 'AIDE mesh',
    description: 'A small U-Net for segmentation masks, trained on the CPU or GPU; configurable width, depth and input size, with flip, crop, shift and colour-jitter augmentation; large images cut into windows. Honours "ignore unlabelled pixels"; supports adding and removing label classes.',
    annotationType: 'segmentationMasks',
    predictionType: 'segmentationMasks',
    canAddLabelClasses: true,
    canRemoveLabelClasses: true,
  };

  static getDefaultOptions(): string {
    return defaultOptionsJson();
  }

  static readonly verifyOptions = verifyWith(resolveSettings);

  static verifyState(head: Uint8Array, size: number): void {
    verifyBuiltinState(head, size, SegmentationModel.metadata.key, segmentationSpecs);
  }

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

  /**
   * The image's masks as a map of outputs: at the input size, or with tiling
   * at the masks' own size (2 bytes a pixel, held for the round) for
   * examples() to cut windows from. Images whose masks label no pixel that
   * counts teach nothing.
   */
  protected target(annotations: readonly Annotation[], classIndex: ReadonlyMap<string, number>, { arch, labelClasses }: TargetContext<SegmentationArch>): OutputMap | undefined {
    const masks = annotations.filter(isSegmentationMaskAnnotation);
    if (masks.length === 0) return undefined;
    const { width, height } = this.settings.tiling.enabled ? masks[0]! : { width: arch.inputSize, height: arch.inputSize };
    const target = outputMap(masks, outputLookup([...classIndex.keys()], labelClasses), width, height);
    return target.outputs.some((v) => v >= 0) ? target : undefined;
  }

  protected encoder(arch: SegmentationArch) {
    return maskTargets(arch.inputSize);
  }

  /** Tiling: a window around each labelled area but background, and some negatives, per image; window maps cut from the image's. */
  protected override async examples(images: readonly UsableImage<OutputMap>[], size: number, signal: AbortSignal | undefined, loaded: (done: number) => void) {
    if (!this.settings.tiling.enabled) return super.examples(images, size, signal, loaded);
    return windowExamples(this.ctx.fileServer, images, size, this.settings, {
      around: ({ outputs, width, height, background }) => labelledAreas(outputs, width, height, (v) => v >= 0 && v !== background),
      inWindow: (map, window, imageWidth, imageHeight) => windowOutputs(map, window, imageWidth, imageHeight, size),
    }, signal, loaded);
  }

  protected evaluate(targets: readonly OutputMap[], logits: readonly Float32Array[], arch: SegmentationArch) {
    return { ...heldOutStats(logits.map((l) => softmaxRows(l, arch.classes)), targets.map((t) => t.outputs), arch.classes) };
  }

  protected predictions(logits: Float32Array, arch: SegmentationArch, classes: readonly string[], _known: readonly boolean[], { width, height, labelClasses }: ImageContext): SegmentationPrediction[] {
    const indices = predictedIndices(classes, labelClasses);
    return [predictionMaps(softmaxRows(logits, arch.classes), arch.inputSize, { indices, width, height, logits: this.settings.logitsMaps })];
  }

  /** Tiling: each image window by window, one image at a time, the windows' maps stitched at the image's size. */
  protected override async readFiles(filenames: readonly string[], predictor: Predictor<SegmentationArch>) {
    return this.settings.tiling.enabled ? undefined : super.readFiles(filenames, predictor);
  }

  protected override async predictFiles(filenames: readonly string[], predictor: Predictor<SegmentationArch>, read?: (SizedImage | Unreadable)[]) {
    if (!this.settings.tiling.enabled) return super.predictFiles(filenames, predictor, read);
    const { arch, classes, labelClasses } = predictor;
    return predictLargeImages(this.ctx.fileServer, filenames, this.settings.tiling, poolPredictor(predictor, this.settings.batchSize), async ({ width, height, outputs }) => {
      const indices = predictedIndices(classes, labelClasses);
      const maps = emptyPrediction({ indices, width, height, logits: this.settings.logitsMaps });
      for await (const { window, output } of outputs) stitchWindow(maps, softmaxRows(output, arch.classes), arch.inputSize, indices, window);
      return [maps];
    });
  }
}

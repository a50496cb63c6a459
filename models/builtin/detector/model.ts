/**
 * "boundingBoxes": the built-in one-stage object detector (CenterNet-style,
 * heatmap/network.ts): per-class centre heatmaps and a size regression,
 * peaks → boxes with non-maximum suppression (detector/boxes.ts). Trained
 * like the classifier (builtin-model.ts): continued or fresh, augmented
 * with boxes moved alongside, classes added and removed, states averaged.
 * train() reports mAP@0.5 on a held-out split.
 */
import type { PluginContext } from '../../../libs/plugin/context.js';
import type { BoundingBoxPrediction } from '../../../libs/plugin/data.js';
import type { PluginMetadataInput } from '../../../libs/plugin/metadata.js';
import { verifyBuiltinState, verifyWith } from '../builtin-model.js';
import { HeatmapModel } from '../heatmap/model.js';
import { gridSize, heatmapSpecs, type HeatmapArch } from '../heatmap/network.js';
import type { Instance } from '../heatmap/targets.js';
import { meanAveragePrecision, type Truth } from './average-precision.js';
import { centresInside, decodeBoxes, suppress, type Box } from './boxes.js';
import { DETECTOR_OPTIONS, type DetectorSettings } from './settings.js';

export class BoundingBoxDetector extends HeatmapModel<DetectorSettings> {
  static readonly metadata: PluginMetadataInput = {
    kind: 'model',
    key: 'builtin.boundingBoxes',
    name: 'Object detector (CenterNet-style)',
    author: 'AIDE mesh',
    description: 'A compact one-stage detector: per-class centre heatmaps with box-size regression and non-maximum suppression, trained on the CPU or GPU with flip, crop, shift and colour-jitter augmentation. Supports adding and removing label classes.',
    annotationType: 'boundingBoxes',
    predictionType: 'boundingBoxes',
    canAddLabelClasses: true,
    canRemoveLabelClasses: true,
  };

  static getDefaultOptions(): string {
    return DETECTOR_OPTIONS.defaultOptions();
  }

  static readonly verifyOptions = verifyWith(DETECTOR_OPTIONS.resolve);

  static verifyState(head: Uint8Array, size: number): void {
    verifyBuiltinState(head, size, BoundingBoxDetector.metadata.key, heatmapSpecs, { kind: 'boxes' });
  }

  protected readonly key = BoundingBoxDetector.metadata.key;
  protected readonly kind = 'boxes';

  constructor(ctx: PluginContext) {
    super(ctx, DETECTOR_OPTIONS.resolve);
  }

  /** Boxes in relative coordinates of the network input (the whole image). */
  private boxes(output: Float32Array, arch: HeatmapArch, allowed?: readonly boolean[]): Box[] {
    const { scoreThreshold, nmsIoU, maxObjects } = this.settings;
    return decodeBoxes(output, { grid: gridSize(arch), classes: arch.classes, threshold: scoreThreshold, nmsIoU, maxBoxes: maxObjects, allowed });
  }

  protected evaluate(targets: readonly (readonly Instance[])[], outputs: readonly Float32Array[], arch: HeatmapArch) {
    const images = targets.map((truths, i) => ({ truths: truths as Truth[], detections: this.boxes(outputs[i]!, arch) }));
    return { heldOutMAP50: meanAveragePrecision(images, arch.classes, 0.5) };
  }

  /**
   * NMS over the whole image at the same overlap as within a window, and of
   * boxes whose centres lie inside each other: two windows can size one
   * object on their seam differently enough to pass the IoU test.
   */
  protected suppressAcrossWindows(predictions: BoundingBoxPrediction[]): BoundingBoxPrediction[] {
    return suppress(predictions, this.settings.nmsIoU, (p) => p.confidence ?? 0, centresInside);
  }

  /** Label = the box's class, confidence = its score, logits = raw heatmap logits of the known classes. */
  protected predictions(output: Float32Array, arch: HeatmapArch, classes: readonly string[], known: readonly boolean[]): BoundingBoxPrediction[] {
    return this.boxes(output, arch, known).map(({ x, y, width, height, score, classIndex, logits }) => ({
      x, y, width, height,
      label: classes[classIndex],
      confidence: score,
      logits: logits.filter((_, k) => known[k]),
    }));
  }
}

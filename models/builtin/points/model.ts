/**
 * "points": the built-in point detector. The heatmap network at a finer
 * stride (heatmap/network.ts): per-class heatmaps with a sub-cell offset,
 * peaks → points with distance-based suppression (points/decode.ts). Takes
 * point annotations, or box centres. Trained like the classifier
 * (builtin-model.ts); train() reports held-out recall and precision.
 */
import type { PluginContext } from '../../../libs/plugin/context.js';
import type { PointPrediction } from '../../../libs/plugin/data.js';
import type { PluginMetadataInput } from '../../../libs/plugin/metadata.js';
import { verifyBuiltinState, verifyWith } from '../builtin-model.js';
import { HeatmapModel } from '../heatmap/model.js';
import { gridSize, heatmapSpecs, type HeatmapArch } from '../heatmap/network.js';
import type { Instance } from '../heatmap/targets.js';
import { decodePoints, thinPoints, type Point } from './decode.js';
import { pointRecallPrecision } from './point-matching.js';
import { POINTS_OPTIONS, type PointsSettings } from './settings.js';

/** A held-out point counts as found within this many input pixels. */
const FOUND_RADIUS_PX = 4;

export class PointsModel extends HeatmapModel<PointsSettings> {
  static readonly metadata: PluginMetadataInput = {
    kind: 'model',
    key: 'builtin.points',
    name: 'Point detector (heatmap peaks)',
    author: 'AIDE mesh',
    description: 'A compact heatmap network that finds object centres as points with a class and confidence, trained on the CPU or GPU with flip, crop, shift and colour-jitter augmentation. Learns from points or from bounding-box centres. Supports adding and removing label classes.',
    annotationType: ['points', 'boundingBoxes'],
    predictionType: 'points',
    canAddLabelClasses: true,
    canRemoveLabelClasses: true,
  };

  static getDefaultOptions(): string {
    return POINTS_OPTIONS.defaultOptions();
  }

  static readonly verifyOptions = verifyWith(POINTS_OPTIONS.resolve);

  static verifyState(head: Uint8Array, size: number): void {
    verifyBuiltinState(head, size, PointsModel.metadata.key, heatmapSpecs, { kind: 'points' });
  }

  protected readonly key = PointsModel.metadata.key;
  protected readonly kind = 'points';

  constructor(ctx: PluginContext) {
    super(ctx, POINTS_OPTIONS.resolve);
  }

  private points(output: Float32Array, arch: HeatmapArch, allowed?: readonly boolean[]): Point[] {
    const { scoreThreshold, minDistance, maxObjects } = this.settings;
    return decodePoints(output, { grid: gridSize(arch), classes: arch.classes, threshold: scoreThreshold, minDistance: minDistance / arch.inputSize, maxPoints: maxObjects, allowed });
  }

  protected evaluate(targets: readonly (readonly Instance[])[], outputs: readonly Float32Array[], arch: HeatmapArch) {
    const images = targets.map((truths, i) => ({ truths, detections: this.points(outputs[i]!, arch) }));
    const { recall, precision } = pointRecallPrecision(images, FOUND_RADIUS_PX / arch.inputSize);
    return { heldOutRecall: recall, heldOutPrecision: precision };
  }

  /** The minimum distance over the whole image, in image pixels (input pixels × `inputScale`). */
  protected suppressAcrossWindows(predictions: PointPrediction[], imageWidth: number, imageHeight: number, inputScale: number): PointPrediction[] {
    const strongestFirst = [...predictions].sort((a, b) => (b.confidence ?? 0) - (a.confidence ?? 0));
    return thinPoints(strongestFirst, this.settings.minDistance * inputScale, imageWidth, imageHeight);
  }

  /** Label = the point's class, confidence = its score, logits = raw heatmap logits of the known classes. */
  protected predictions(output: Float32Array, arch: HeatmapArch, classes: readonly string[], known: readonly boolean[]): PointPrediction[] {
    return this.points(output, arch, known).map(({ x, y, score, classIndex, logits }) => ({
      x, y,
      label: classes[classIndex],
      confidence: score,
      logits: logits.filter((_, k) => known[k]),
    }));
  }
}

/**
 * Pretrained ONNX detectors (MegaDetector v5: YOLOv5 rows; YOLOv8 and later:
 * columns): boxes (onnx.boundingBoxes) or their centres as points
 * (onnx.points), model classes mapped to the project's (class-mapping.ts).
 * Large images go through the built-ins' tiling: windows slid over the image,
 * each window's boxes kept where its core owns their centre, near-duplicates
 * across seams suppressed (models/builtin/tiling).
 */
import type { PluginContext } from '../../libs/plugin/context.js';
import type { BoundingBoxPrediction, LabelClass, PointPrediction, Prediction } from '../../libs/plugin/data.js';
import type { PluginMetadataInput } from '../../libs/plugin/metadata.js';
import { centresInside, suppress } from '../builtin/detector/boxes.js';
import { ownedPredictions } from '../builtin/tiling/placement.js';
import { predictLargeImages } from '../builtin/tiling/sliding-inference.js';
import { ClassMappingCache, targetScores } from './class-mapping.js';
import { decodeDetections } from './decode.js';
import { OnnxModel, verifyOnnxState, verifyWith, type FilePredictions, type ImageContext, type LoadedModel } from './onnx-model.js';
import { DETECTOR_OPTIONS, type DetectorSettings } from './settings.js';

const DESCRIPTION = 'Runs an imported, pretrained ONNX detector (e.g. MegaDetector v5, YOLOv5/v8 exports) with ONNX Runtime on the GPU (CUDA) or CPU. '
  + 'The state is the .onnx graph with a manifest (input size and normalization, YOLOv5 or YOLOv8 output, class names): '
  + 'import it with <code>aide states import --onnx-manifest</code>. Model classes map to the project\'s by name or by the classMapping option. '
  + 'Large images are predicted window by window (tiling). Inference only: it cannot be trained.';

abstract class OnnxDetector extends OnnxModel<DetectorSettings> {
  // Shared by both plugins (statics are inherited); each declares only its metadata.
  static getDefaultOptions = DETECTOR_OPTIONS.defaultOptions;
  static readonly verifyOptions = verifyWith(DETECTOR_OPTIONS.resolve);
  static verifyState = (head: Uint8Array, size: number) => verifyOnnxState(head, size, 'detector');

  protected readonly task = 'detector';
  private readonly mappings: ClassMappingCache;
  constructor(ctx: PluginContext) {
    super(ctx, DETECTOR_OPTIONS.resolve);
    this.mappings = new ClassMappingCache(this.settings.classMapping);
  }

  /** Boxes of one output, relative to the network input, labelled with project classes (dropped where unmapped). */
  private boxes(output: Float32Array, loaded: LoadedModel, labelClasses: Record<string, LabelClass>): BoundingBoxPrediction[] {
    const { manifest } = loaded.state.header;
    const mapping = this.mappings.of(labelClasses, manifest.classes);
    const { scoreThreshold: threshold, nmsIoU, maxObjects } = this.settings;
    return decodeDetections(output, manifest, { threshold, nmsIoU, maxObjects }).flatMap(({ x, y, width, height, score, classIndex, scores }) => {
      const target = mapping.target[classIndex]!;
      return target < 0 ? [] : [{ x, y, width, height, label: mapping.targets[target], confidence: score, logits: targetScores(mapping, scores) }];
    });
  }

  /** What a box becomes in this plugin's prediction type. */
  protected abstract shape(box: BoundingBoxPrediction): Prediction;

  protected decode(output: Float32Array, loaded: LoadedModel, image: ImageContext): Prediction[] {
    return this.boxes(output, loaded, image.labelClasses).map((b) => this.shape(b));
  }

  /** Tiling: window by window, one image at a time; boxes owned by each window's core, near-duplicates across windows suppressed. */
  protected override async predictFiles(filenames: readonly string[], loaded: LoadedModel, labelClasses: Record<string, LabelClass>, signal?: AbortSignal): Promise<FilePredictions[]> {
    const { tiling, nmsIoU } = this.settings;
    if (!tiling.enabled) return super.predictFiles(filenames, loaded, labelClasses, signal);
    const predictor = { inputSize: loaded.state.header.manifest.input.size, predict: (images: readonly Uint8Array[]) => loaded.run(images), signal };
    return predictLargeImages(this.ctx.fileServer, filenames, tiling, predictor, async ({ width, height, outputs }) => {
      const found: BoundingBoxPrediction[] = [];
      for await (const { window, output } of outputs) found.push(...ownedPredictions(window, this.boxes(output, loaded, labelClasses), width, height, tiling.overlap));
      return suppress(found, nmsIoU, (p) => p.confidence ?? 0, centresInside).map((b) => this.shape(b));
    });
  }
}

export class OnnxBoxDetector extends OnnxDetector {
  static readonly metadata: PluginMetadataInput = {
    kind: 'model', key: 'onnx.boundingBoxes', name: 'Pretrained ONNX detector (boxes)', author: 'AIDE mesh',
    description: DESCRIPTION, annotationType: 'boundingBoxes', predictionType: 'boundingBoxes', trainable: false,
  };

  protected readonly key = OnnxBoxDetector.metadata.key;

  protected shape(box: BoundingBoxPrediction): BoundingBoxPrediction {
    return box;
  }
}

export class OnnxPointDetector extends OnnxDetector {
  static readonly metadata: PluginMetadataInput = {
    kind: 'model', key: 'onnx.points', name: 'Pretrained ONNX detector (points at box centres)', author: 'AIDE mesh',
    description: DESCRIPTION, annotationType: 'points', predictionType: 'points', trainable: false,
  };

  protected readonly key = OnnxPointDetector.metadata.key;

  protected shape({ x, y, label, confidence, logits }: BoundingBoxPrediction): PointPrediction {
    return { x, y, label, confidence, logits };
  }
}

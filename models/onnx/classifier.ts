/**
 * A pretrained ONNX image classifier (onnx.labels): class logits →
 * probabilities (softmax, sigmoid or none, as the manifest says), the model's
 * classes mapped to the project's (class-mapping.ts); an image whose top
 * class maps to none gets no prediction. Inference only.
 */
import type { PluginContext } from '../../libs/plugin/context.js';
import type { LabelPrediction } from '../../libs/plugin/data.js';
import type { PluginMetadataInput } from '../../libs/plugin/metadata.js';
import { ClassMappingCache, targetScores } from './class-mapping.js';
import { probabilities } from './decode.js';
import { OnnxModel, verifyOnnxState, verifyWith, type ImageContext, type LoadedModel } from './onnx-model.js';
import { CLASSIFIER_OPTIONS, type MappedSettings } from './settings.js';

export class OnnxClassifier extends OnnxModel<MappedSettings> {
  static readonly metadata: PluginMetadataInput = {
    kind: 'model', key: 'onnx.labels', name: 'Pretrained ONNX classifier', author: 'AIDE mesh',
    description: 'Runs an imported, pretrained ONNX image classifier (class logits) with ONNX Runtime on the GPU (CUDA) or CPU. '
      + 'The state is the .onnx graph with a manifest (input size and normalization, class names): import it with <code>aide states import --onnx-manifest</code>. '
      + 'Model classes map to the project\'s by name or by the classMapping option. Inference only: to learn the project\'s classes, use onnx.backboneHead.',
    annotationType: 'labels', predictionType: 'labels', trainable: false,
  };

  static getDefaultOptions = CLASSIFIER_OPTIONS.defaultOptions;
  static readonly verifyOptions = verifyWith(CLASSIFIER_OPTIONS.resolve);
  static verifyState = (head: Uint8Array, size: number) => verifyOnnxState(head, size, 'classifier');

  protected readonly task = 'classifier';
  protected readonly key = OnnxClassifier.metadata.key;
  private readonly mappings: ClassMappingCache;

  constructor(ctx: PluginContext) {
    super(ctx, CLASSIFIER_OPTIONS.resolve);
    this.mappings = new ClassMappingCache(this.settings.classMapping);
  }

  protected decode(output: Float32Array, loaded: LoadedModel, image: ImageContext): LabelPrediction[] {
    const { manifest } = loaded.state.header;
    const mapping = this.mappings.of(image.labelClasses, manifest.classes);
    const scores = probabilities(output, manifest);
    let top = 0;
    for (let k = 1; k < scores.length; k++) if (scores[k]! > scores[top]!) top = k;
    const target = mapping.target[top]!;
    return target < 0 ? [] : [{ label: mapping.targets[target], confidence: scores[top]!, logits: targetScores(mapping, scores) }];
  }
}

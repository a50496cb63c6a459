/**
 * "labels": the built-in image classifier. A compact CNN (classifier/network.ts)
 * trained from scratch or continued from a state, data-parallel over worker
 * threads, with augmentations; label classes can be added and removed, states
 * trained in parallel are averaged weighted by image counts (builtin-model.ts).
 * train() reports loss and accuracy on a held-out split with the state.
 */
import type { PluginContext } from '../../../libs/plugin/context.js';
import type { Annotation, LabelPrediction } from '../../../libs/plugin/data.js';
import type { PluginMetadataInput } from '../../../libs/plugin/metadata.js';
import { BuiltinModel, verifyBuiltinState, verifyWith } from '../builtin-model.js';
import { defaultOptionsJson } from '../model-settings.js';
import { CLASSIFIER_NETWORK, classifierSpecs, embeddingSize, HEAD, oneHotTargets, type ClassifierArch } from './network.js';
import { CLASSIFIER_FIELDS, CLASSIFIER_GROUPS, resolveSettings, type ClassifierSettings } from './settings.js';

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

export class LabelsClassifier extends BuiltinModel<number, ClassifierArch, ClassifierSettings> {
  static readonly metadata: PluginMetadataInput = {
    kind: 'model',
    key: 'builtin.labels',
    name: 'Image classifier (compact CNN)',
    author: 'AIDE mesh',
    description: 'A small convolutional network for image labels, trained on the CPU or GPU; configurable width, depth, input size and head, with flip, crop, shift and colour-jitter augmentation. Supports adding and removing label classes.',
    annotationType: 'labels',
    predictionType: 'labels',
    canAddLabelClasses: true,
    canRemoveLabelClasses: true,
  };

  static getDefaultOptions(): string {
    return defaultOptionsJson(CLASSIFIER_GROUPS, CLASSIFIER_FIELDS);
  }

  static readonly verifyOptions = verifyWith(resolveSettings);

  static verifyState(head: Uint8Array, size: number): void {
    verifyBuiltinState(head, size, LabelsClassifier.metadata.key, classifierSpecs);
  }

  protected readonly key = LabelsClassifier.metadata.key;
  protected readonly networkModule = CLASSIFIER_NETWORK;
  protected readonly head = HEAD;

  constructor(ctx: PluginContext) {
    super(ctx, resolveSettings);
  }

  protected specs(arch: ClassifierArch) {
    return classifierSpecs(arch);
  }

  protected freshArch(classes: number): ClassifierArch {
    const { inputSize, width, depth, head } = this.settings;
    return { inputSize, width, depth, classes, head };
  }

  /** The image's first label of a known class. */
  protected target(annotations: readonly Annotation[], index: ReadonlyMap<string, number>): number | undefined {
    const label = annotations.map((a) => ('label' in a ? a.label : undefined)).find((l): l is string => !!l && index.has(l));
    return label === undefined ? undefined : index.get(label);
  }

  /** Each output ends with the image's penultimate features: its embedding. */
  protected override embeddingSize(arch: ClassifierArch): number {
    return embeddingSize(arch);
  }

  protected encoder(arch: ClassifierArch) {
    return oneHotTargets(arch.classes);
  }

  protected evaluate(labels: readonly number[], probs: readonly Float32Array[]) {
    const correct = labels.filter((label, i) => argmax(probs[i]!) === label).length;
    const loss = labels.reduce((sum, label, i) => sum - Math.log(Math.max(probs[i]![label]!, 1e-12)), 0) / labels.length;
    return { heldOutAccuracy: correct / labels.length, heldOutLoss: loss };
  }

  /** The most probable known class; logits = probabilities over the known classes, in state order. */
  protected predictions(probs: Float32Array, _arch: ClassifierArch, classes: readonly string[], known: readonly boolean[]): LabelPrediction[] {
    const ids = classes.filter((_, k) => known[k]);
    const kept = Array.from(probs).filter((_, k) => known[k]);
    const sum = kept.reduce((a, b) => a + b, 0) || 1;
    const logits = kept.map((p) => p / sum);
    const best = argmax(logits);
    return [{ label: ids[best], confidence: logits[best], logits }];
  }
}

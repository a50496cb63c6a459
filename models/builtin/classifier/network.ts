/**
 * The classifier's network family: the shared trunk (backbone.ts: `depth`
 * stages of standardized 3×3 convolution, ReLU and 2×2 max pooling), then a
 * linear head with one output per label class on
 * - `pool` (the default): global average pooling, blind to position and
 *   independent of the input size. States written before the head was an
 *   option have this head and no `head` in their architecture;
 * - `flatten`: every position of the trunk's last feature map. Where a thing
 *   is in the image is evidence too, this head learns far faster from few
 *   labels (Fashion-MNIST, 200 labels: 0.79 against 0.67 test accuracy;
 *   settings.ts), at a cost that grows with the map (inputSize² / 4^depth ×
 *   channels weights per class); or
 * - `both`: the two side by side.
 */
import * as tf from '@tensorflow/tfjs';
import { backbone, backboneSpecs, PARAMS_PER_CONV, stageChannels } from '../backbone.js';
import type { TargetEncoder } from '../batch.js';
import type { Arch, Network, ParamSpec } from '../network.js';

export const CLASSIFIER_HEADS = ['flatten', 'pool', 'both'] as const;
export type ClassifierHead = (typeof CLASSIFIER_HEADS)[number];

export type ClassifierArch = Arch & {
  inputSize: number;
  width: number;
  depth: number;
  classes: number;
  /** Absent in states written before it was an option: 'pool'. */
  head?: ClassifierHead;
};

/** This module, for replica workers to import (see NetworkModule). */
export const CLASSIFIER_NETWORK = new URL(import.meta.url);

export const HEAD = { kernel: 'head/kernel', bias: 'head/bias' } as const;

const headOf = (arch: ClassifierArch): ClassifierHead => arch.head ?? 'pool';

/** Features the linear head sees per image. */
function headInputs(arch: ClassifierArch): number {
  const channels = stageChannels(arch.width, arch.depth - 1);
  const side = arch.inputSize / 2 ** arch.depth;
  const head = headOf(arch);
  return (head === 'flatten' ? 0 : channels) + (head === 'pool' ? 0 : side * side * channels);
}

export function classifierSpecs(arch: ClassifierArch): ParamSpec[] {
  return [
    ...backboneSpecs(arch.width, arch.depth),
    { name: HEAD.kernel, shape: [headInputs(arch), arch.classes], init: 'he' },
    { name: HEAD.bias, shape: [arch.classes], init: 'zeros' },
  ];
}

/** Length of an image's embedding: its penultimate features, the globally pooled last stage. */
export const embeddingSize = (a: ClassifierArch): number => stageChannels(a.width, a.depth - 1);

/** The trunk's output per image: its embedding (the globally pooled last stage, [n, embeddingSize]) and the head's input. */
function trunk(a: ClassifierArch, params: readonly tf.Tensor[], images: tf.Tensor4D): { pooled: tf.Tensor2D; headInput: tf.Tensor2D } {
  const features = backbone(params, images, a.depth);
  const [n, h, w, c] = features.shape;
  // Global average pooling as one pooling window over the whole map: on WebAssembly, tf.mean over the spatial axes transposes the features first (5× slower).
  const pooled = tf.reshape(tf.avgPool(features, [h, w], 1, 'valid'), [n, c]) as tf.Tensor2D;
  const kind = headOf(a);
  if (kind === 'pool') return { pooled, headInput: pooled };
  const flat = tf.reshape(features, [n, h * w * c]) as tf.Tensor2D;
  return { pooled, headInput: kind === 'flatten' ? flat : tf.concat([pooled, flat], 1) };
}

/** Logits [n, classes] of the head's input. */
function head(a: ClassifierArch, params: readonly tf.Tensor[], input: tf.Tensor2D): tf.Tensor2D {
  const at = PARAMS_PER_CONV * a.depth;
  return tf.add(tf.matMul(input, params[at] as tf.Tensor2D), params[at + 1]!);
}

/**
 * Targets are one-hot class vectors; loss = summed softmax cross-entropy;
 * output = class probabilities then the embedding, [n, classes + embeddingSize].
 */
export function createNetwork(arch: Arch): Network {
  const a = arch as ClassifierArch;
  return {
    specs: classifierSpecs(a),
    targetShape: [a.classes],
    loss: (params, images, targets) =>
      tf.losses.softmaxCrossEntropy(targets, head(a, params, trunk(a, params, images).headInput), undefined, undefined, tf.Reduction.SUM) as tf.Scalar,
    predict: (params, images) => {
      const { pooled, headInput } = trunk(a, params, images);
      return tf.concat([tf.softmax(head(a, params, headInput)), pooled], 1);
    },
  };
}

/** One-hot targets of class indices (augmentation leaves a class unchanged). */
export const oneHotTargets = (classes: number): TargetEncoder<number> => ({
  length: classes,
  write: (label, _t, out, offset) => { out[offset + label] = 1; },
});

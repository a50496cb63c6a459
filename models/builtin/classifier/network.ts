/**
 * The classifier's network family: the shared trunk (backbone.ts: `depth`
 * stages of standardized 3×3 convolution, ReLU and 2×2 max pooling), then
 * global average pooling and a linear head with one output per label class.
 */
import * as tf from '@tensorflow/tfjs';
import { backbone, backboneSpecs, PARAMS_PER_CONV, stageChannels } from '../backbone.js';
import type { TargetEncoder } from '../batch.js';
import type { Arch, Network, ParamSpec } from '../network.js';

export interface ClassifierArch extends Arch {
  inputSize: number;
  width: number;
  depth: number;
  classes: number;
}

/** This module, for replica workers to import (see NetworkModule). */
export const CLASSIFIER_NETWORK = new URL(import.meta.url);

export const HEAD = { kernel: 'head/kernel', bias: 'head/bias' } as const;

export function classifierSpecs(arch: ClassifierArch): ParamSpec[] {
  return [
    ...backboneSpecs(arch.width, arch.depth),
    { name: HEAD.kernel, shape: [stageChannels(arch.width, arch.depth - 1), arch.classes], init: 'he' },
    { name: HEAD.bias, shape: [arch.classes], init: 'zeros' },
  ];
}

/** Length of an image's embedding: its penultimate features, the globally pooled last stage. */
export const embeddingSize = (a: ClassifierArch): number => stageChannels(a.width, a.depth - 1);

/** Penultimate features [n, embeddingSize]. */
function pooledFeatures(a: ClassifierArch, params: readonly tf.Tensor[], images: tf.Tensor4D): tf.Tensor2D {
  const features = backbone(params, images, a.depth);
  const [n, h, w, c] = features.shape;
  // Global average pooling as one pooling window over the whole map: on WebAssembly, tf.mean over the spatial axes transposes the features first (5× slower).
  return tf.reshape(tf.avgPool(features, [h, w], 1, 'valid'), [n, c]) as tf.Tensor2D;
}

/** Logits [n, classes] of the penultimate features. */
function head(a: ClassifierArch, params: readonly tf.Tensor[], pooled: tf.Tensor2D): tf.Tensor2D {
  const at = PARAMS_PER_CONV * a.depth;
  return tf.add(tf.matMul(pooled, params[at] as tf.Tensor2D), params[at + 1]!);
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
      tf.losses.softmaxCrossEntropy(targets, head(a, params, pooledFeatures(a, params, images)), undefined, undefined, tf.Reduction.SUM) as tf.Scalar,
    predict: (params, images) => {
      const pooled = pooledFeatures(a, params, images);
      return tf.concat([tf.softmax(head(a, params, pooled)), pooled], 1);
    },
  };
}

/** One-hot targets of class indices (augmentation leaves a class unchanged). */
export const oneHotTargets = (classes: number): TargetEncoder<number> => ({
  length: classes,
  write: (label, _t, out, offset) => { out[offset + label] = 1; },
});

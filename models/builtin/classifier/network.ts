/**
 * The classifier's network family: `depth` stages of 3×3 convolution (+bias,
 * ReLU) and 2×2 max pooling, channels `width`·2^stage, then global average
 * pooling and a linear head with one output per label class. Convolutions
 * are scaled weight-standardized (standardized-conv.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { convReluMaxPool } from '../../../libs/tf/conv-relu-max-pool.js';
import type { TargetEncoder } from '../batch.js';
import type { Arch, Network, ParamSpec } from '../network.js';
import { convSpecs, standardizedKernel, standardizeImages } from '../standardized-conv.js';

export interface ClassifierArch extends Arch {
  inputSize: number;
  width: number;
  depth: number;
  classes: number;
}

/** This module, for replica workers to import (see NetworkModule). */
export const CLASSIFIER_NETWORK = new URL(import.meta.url);

export const HEAD_KERNEL = 'head/kernel';
export const HEAD_BIAS = 'head/bias';

const PARAMS_PER_STAGE = 3;

const channels = ({ width }: ClassifierArch, stage: number) => width * 2 ** stage;

export function classifierSpecs(arch: ClassifierArch): ParamSpec[] {
  const specs: ParamSpec[] = [];
  for (let stage = 0; stage < arch.depth; stage++) {
    const cin = stage === 0 ? 3 : channels(arch, stage - 1);
    specs.push(...convSpecs(`conv${stage}`, 3, 3, cin, channels(arch, stage)));
  }
  specs.push({ name: HEAD_KERNEL, shape: [channels(arch, arch.depth - 1), arch.classes], init: 'he' });
  specs.push({ name: HEAD_BIAS, shape: [arch.classes], init: 'zeros' });
  return specs;
}

/** Logits [n, classes]. */
function logits(a: ClassifierArch, params: readonly tf.Tensor[], images: tf.Tensor4D): tf.Tensor2D {
  let h = standardizeImages(images);
  for (let stage = 0; stage < a.depth; stage++) {
    const [kernel, gain, bias] = params.slice(PARAMS_PER_STAGE * stage, PARAMS_PER_STAGE * (stage + 1)) as [tf.Tensor4D, tf.Tensor, tf.Tensor1D];
    h = convReluMaxPool(h, standardizedKernel(kernel, gain), bias, { strides: 1, pad: 'same' });
  }
  const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
  const head = PARAMS_PER_STAGE * a.depth;
  return tf.add(tf.matMul(pooled, params[head] as tf.Tensor2D), params[head + 1]!);
}

/** Targets are one-hot class vectors; loss = summed softmax cross-entropy; output = class probabilities [n, classes]. */
export function createNetwork(arch: Arch): Network {
  const a = arch as ClassifierArch;
  return {
    specs: classifierSpecs(a),
    targetShape: [a.classes],
    loss: (params, images, targets) =>
      tf.losses.softmaxCrossEntropy(targets, logits(a, params, images), undefined, undefined, tf.Reduction.SUM) as tf.Scalar,
    predict: (params, images) => tf.softmax(logits(a, params, images)),
  };
}

/** One-hot targets of class indices (augmentation leaves a class unchanged). */
export const oneHotTargets = (classes: number): TargetEncoder<number> => ({
  length: classes,
  write: (label, _t, out, offset) => { out[offset + label] = 1; },
});

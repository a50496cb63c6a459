/**
 * The convolutional trunk every built-in network shares: per-image
 * standardization, then `depth` stages of 3×3 convolution (+bias, ReLU) and
 * 2×2 max pooling, channels `width`·2^stage.
 *
 * Convolutions use scaled weight standardization (as normalizer-free nets,
 * libs/tf/standardized-filter.ts): each filter is standardized and scaled by
 * a learned gain, which trains as
 * well as group norm here without touching activations. That matters on
 * WebAssembly, where broadcasting over large activations is ~30× slower than
 * the convolutions, and it keeps replicas stateless (no running statistics).
 */
import * as tf from '@tensorflow/tfjs';
import { convReluMaxPool } from '../../libs/tf/conv-relu-max-pool.js';
import { standardizeImages } from '../../libs/tf/standardize-images.js';
import { standardizedFilter } from '../../libs/tf/standardized-filter.js';
import type { ParamSpec } from './network.js';

/** Parameters of one convolution: kernel, gain, bias (in specs order). */
export const PARAMS_PER_CONV = 3;

export const stageChannels = (width: number, stage: number) => width * 2 ** stage;

/** Specs of a standardized 3×3 convolution named `prefix`/… */
export function convSpecs(prefix: string, cin: number, cout: number): ParamSpec[] {
  return [
    { name: `${prefix}/kernel`, shape: [3, 3, cin, cout], init: 'he' },
    { name: `${prefix}/gain`, shape: [cout], init: 'ones' },
    { name: `${prefix}/bias`, shape: [cout], init: 'zeros' },
  ];
}

/** Specs of the trunk: conv0 … conv{depth−1}. */
export function backboneSpecs(width: number, depth: number): ParamSpec[] {
  return Array.from({ length: depth }, (_, stage) =>
    convSpecs(`conv${stage}`, stage === 0 ? 3 : stageChannels(width, stage - 1), stageChannels(width, stage))).flat();
}

/**
 * ReLU(conv(x)) with the PARAMS_PER_CONV parameters [kernel, gain, bias].
 * The ReLU is applied on its own: fused in, tfjs splits the convolution
 * under a gradient tape into Conv2D plus a broadcast Add of the bias (slow on
 * WebAssembly); with a linear activation the bias stays fused (~8% less CPU
 * per U-Net training step).
 */
export function standardizedConv(x: tf.Tensor4D, [kernel, gain, bias]: readonly tf.Tensor[]): tf.Tensor4D {
  return tf.relu(tf.fused.conv2d({ x, filter: standardizedFilter(kernel as tf.Tensor4D, gain as tf.Tensor1D), bias, strides: 1, pad: 'same' }));
}

/**
 * Features [n, h/2^depth, w/2^depth, width·2^(depth−1)] of images in [0, 1],
 * from the first PARAMS_PER_CONV·depth params.
 */
export function backbone(params: readonly tf.Tensor[], images: tf.Tensor4D, depth: number): tf.Tensor4D {
  let h = standardizeImages(images);
  for (let stage = 0; stage < depth; stage++) {
    const [kernel, gain, bias] = params.slice(PARAMS_PER_CONV * stage, PARAMS_PER_CONV * (stage + 1)) as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D];
    // One fused op (conv + bias + ReLU + pool) with a one-pass backward where the backend has it.
    h = convReluMaxPool(h, standardizedFilter(kernel, gain), bias, { strides: 1, pad: 'same' });
  }
  return h;
}

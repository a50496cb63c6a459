/**
 * The segmentation network: a small U-Net. `depth` encoder levels of two 3×3
 * convolutions (+bias, ReLU) with channels `width`·2^level, each followed by
 * 2×2 max pooling; two convolutions at the bottom; then per level, from the
 * deepest up, 2× nearest-neighbour upsampling, the skip connection from the
 * encoder, and two convolutions; a 1×1 head gives one logit per class and
 * pixel, at the input's resolution.
 *
 * Convolutions are scaled weight-standardized (backbone.ts). The
 * first convolution of a decoder level reads the upsampled features and the
 * skip connection; rather than concatenating them (a channel concat and its
 * split in the backward pass cost as much as the convolution on WebAssembly),
 * its kernel is standardized as one and applied to each input by its own
 * slice, and the two results are added: the same function.
 */
import * as tf from '@tensorflow/tfjs';
import { standardizeImages } from '../../../libs/tf/standardize-images.js';
import { standardizedFilter } from '../../../libs/tf/standardized-filter.js';
import { warpNearest } from '../augment.js';
import { convSpecs, PARAMS_PER_CONV, stageChannels, standardizedConv } from '../backbone.js';
import type { TargetEncoder } from '../batch.js';
import type { ClassHead } from '../label-classes.js';
import type { Arch, Network, ParamSpec } from '../network.js';
import type { OutputMap } from './mask-maps.js';

export interface SegmentationArch extends Arch {
  inputSize: number;
  width: number;
  depth: number;
  classes: number;
}

/** This module, for replica workers to import (see NetworkModule). */
export const SEGMENTATION_NETWORK = new URL(import.meta.url);

/** The 1×1 convolution with one output per class. */
export const HEAD: ClassHead = { kernel: 'head/kernel', bias: 'head/bias' };

export function segmentationSpecs(arch: SegmentationArch): ParamSpec[] {
  const c = (level: number) => stageChannels(arch.width, level);
  const specs: ParamSpec[] = [];
  for (let level = 0; level < arch.depth; level++) {
    specs.push(...convSpecs(`down${level}/conv0`, level === 0 ? 3 : c(level - 1), c(level)));
    specs.push(...convSpecs(`down${level}/conv1`, c(level), c(level)));
  }
  specs.push(...convSpecs('bottom/conv0', c(arch.depth - 1), c(arch.depth)));
  specs.push(...convSpecs('bottom/conv1', c(arch.depth), c(arch.depth)));
  for (let level = arch.depth - 1; level >= 0; level--) {
    // Input channels: the upsampled level below, then the skip connection.
    specs.push(...convSpecs(`up${level}/conv0`, c(level + 1) + c(level), c(level)));
    specs.push(...convSpecs(`up${level}/conv1`, c(level), c(level)));
  }
  specs.push({ name: HEAD.kernel, shape: [1, 1, c(0), arch.classes], init: 'he' });
  specs.push({ name: HEAD.bias, shape: [arch.classes], init: 'zeros' });
  return specs;
}

type Conv = readonly tf.Tensor[];

/** relu(conv([up, skip], W) + b) without building [up, skip]: W is split along its input channels. */
function convOfTwo(up: tf.Tensor4D, skip: tf.Tensor4D, [kernel, gain, bias]: Conv): tf.Tensor4D {
  const w = standardizedFilter(kernel as tf.Tensor4D, gain as tf.Tensor1D);
  const [kh, kw, , cout] = w.shape;
  const cUp = up.shape[3];
  const wUp = tf.slice(w, [0, 0, 0, 0], [kh, kw, cUp, cout]);
  const wSkip = tf.slice(w, [0, 0, cUp, 0], [kh, kw, skip.shape[3], cout]);
  return tf.relu(tf.add(tf.conv2d(up, wUp, 1, 'same'), tf.fused.conv2d({ x: skip, filter: wSkip, bias, strides: 1, pad: 'same' }))) as tf.Tensor4D;
}

/**
 * 2× nearest-neighbour upsampling. Its gradient, the sum over each 2×2
 * block, is taken as 4 × average pooling: the backends' own
 * ResizeNearestNeighborGrad is 5–10× slower on WebAssembly and wrong on the
 * cpu backend for batches of more than one (it offsets dy by the input's
 * batch stride, tfjs 4.22).
 */
const upsample = tf.customGrad((...[x]: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const h = x as tf.Tensor4D;
  return {
    value: tf.image.resizeNearestNeighbor(h, [h.shape[1] * 2, h.shape[2] * 2]),
    gradFunc: (dy: tf.Tensor) => tf.mul(tf.avgPool(dy as tf.Tensor4D, 2, 2, 'valid'), 4),
  };
}) as (x: tf.Tensor4D) => tf.Tensor4D;

/** Logits [n, h, w, classes] of images [n, h, w, 3] (values in [0, 1], h and w multiples of 2^depth). */
export function segmentationLogits(arch: SegmentationArch, params: readonly tf.Tensor[], images: tf.Tensor4D): tf.Tensor4D {
  let next = 0;
  const take = (): Conv => params.slice(next, (next += PARAMS_PER_CONV));
  let h = standardizeImages(images);
  const skips: tf.Tensor4D[] = [];
  for (let level = 0; level < arch.depth; level++) {
    h = standardizedConv(standardizedConv(h, take()), take());
    skips.push(h);
    h = tf.maxPool(h, 2, 2, 'valid');
  }
  h = standardizedConv(standardizedConv(h, take()), take());
  for (let level = arch.depth - 1; level >= 0; level--) {
    h = standardizedConv(convOfTwo(upsample(h), skips[level]!, take()), take());
  }
  return tf.fused.conv2d({ x: h, filter: params[next] as tf.Tensor4D, bias: params[next + 1], strides: 1, pad: 'valid' });
}

/**
 * Targets: per pixel the output index of its class, or −1 where the pixel is
 * ignored (unlabelled). Loss: softmax cross-entropy summed over the labelled
 * pixels, divided by the pixels of an image (so it reads per pixel while
 * shards still add up). Output: logits [n, h, w, classes] (the model takes
 * the softmax, see softmax.ts).
 */
export function createNetwork(arch: Arch): Network {
  const a = arch as SegmentationArch;
  const pixels = a.inputSize * a.inputSize;
  return {
    specs: segmentationSpecs(a),
    targetShape: [a.inputSize, a.inputSize],
    loss(params, images, targets) {
      const logits = tf.reshape(segmentationLogits(a, params, images), [-1, a.classes]);
      const flat = tf.reshape(targets, [-1]);
      // oneHot of −1 is a zero row; the weight 0 also keeps its gradient at zero.
      const oneHot = tf.oneHot(tf.cast(flat, 'int32'), a.classes);
      const labelled = tf.cast(tf.greaterEqual(flat, 0), 'float32');
      return tf.div(tf.losses.softmaxCrossEntropy(oneHot, logits, labelled, undefined, tf.Reduction.SUM), pixels) as tf.Scalar;
    },
    predict: (params, images) => segmentationLogits(a, params, images),
  };
}

/** Writes a size×size map of output indices (−1 = ignored) under the image's augmentation. */
export const maskTargets = (size: number): TargetEncoder<OutputMap> => ({
  length: size * size,
  write: ({ outputs }, t, out, offset) => warpNearest(outputs, size, 1, t, out, offset),
});

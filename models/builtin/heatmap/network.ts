/**
 * The network of the heatmap models (detector and points), CenterNet-style:
 * the shared trunk (backbone.ts, `depth` conv + pool stages, so one output
 * cell covers stride = 2^depth pixels), one more standardized 3×3
 * convolution at that stride to widen the receptive field, then two 1×1
 * heads: per-class centre heatmap logits, and a regression of the centre's
 * offset within its cell (+ log box width and height, in cells, for boxes).
 *
 * Output (Network.predict) per image: [grid, grid, classes + regression],
 * raw heatmap logits first. Target per image: [grid, grid, classes + 1 +
 * regression]: Gaussian heatmaps (exactly 1 at an object's centre cell), a
 * centre mask (1 where a regression target is set), the regression targets.
 *
 * Loss per image, divided by its number of objects (at least 1) as in
 * CenterNet: penalty-reduced focal loss (α = 2, β = 4) over every heatmap
 * value, plus L1 of the regression at centre cells.
 */
import * as tf from '@tensorflow/tfjs';
import { backbone, backboneSpecs, convSpecs, PARAMS_PER_CONV, standardizedConv, stageChannels } from '../backbone.js';
import type { ClassHead } from '../label-classes.js';
import type { Arch, Network, ParamSpec } from '../network.js';

export interface HeatmapArch extends Arch {
  inputSize: number;
  width: number;
  depth: number;
  classes: number;
  /** 'boxes' adds width and height to the regression. */
  kind: 'points' | 'boxes';
}

/** This module, for replica workers to import (see NetworkModule). */
export const HEATMAP_NETWORK = new URL(import.meta.url);

export const HEATMAP_HEAD: ClassHead = { kernel: 'heatmap/kernel', bias: 'heatmap/bias' };

/** Initial heatmap bias: sigmoid(−2.19) ≈ 0.1, CenterNet's prior, so the focal loss starts calm. */
const HEATMAP_PRIOR = -2.19;

/** Output cells per side. */
export const gridSize = (arch: HeatmapArch) => arch.inputSize / 2 ** arch.depth;

/** Regression channels: centre offset (x, y) in the cell, then for boxes log width and height in cells. */
export const regressionChannels = (arch: HeatmapArch) => (arch.kind === 'boxes' ? 4 : 2);

export function heatmapSpecs(arch: HeatmapArch): ParamSpec[] {
  const channels = stageChannels(arch.width, arch.depth - 1);
  return [
    ...backboneSpecs(arch.width, arch.depth),
    ...convSpecs('neck', channels, channels),
    { name: HEATMAP_HEAD.kernel, shape: [1, 1, channels, arch.classes], init: 'he' },
    { name: HEATMAP_HEAD.bias, shape: [arch.classes], init: HEATMAP_PRIOR },
    { name: 'regression/kernel', shape: [1, 1, channels, regressionChannels(arch)], init: 'he' },
    { name: 'regression/bias', shape: [regressionChannels(arch)], init: 'zeros' },
  ];
}

/** Heatmap logits [n, g, g, classes] and regression [n, g, g, R]. */
function heads(a: HeatmapArch, params: readonly tf.Tensor[], images: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
  const neck = PARAMS_PER_CONV * a.depth;
  const features = standardizedConv(backbone(params, images, a.depth), params.slice(neck, neck + PARAMS_PER_CONV));
  const [hk, hb, rk, rb] = params.slice(neck + PARAMS_PER_CONV) as [tf.Tensor4D, tf.Tensor1D, tf.Tensor4D, tf.Tensor1D];
  return [
    tf.fused.conv2d({ x: features, filter: hk, bias: hb, strides: 1, pad: 'valid' }),
    tf.fused.conv2d({ x: features, filter: rk, bias: rb, strides: 1, pad: 'valid' }),
  ];
}

function loss(a: HeatmapArch, params: readonly tf.Tensor[], images: tf.Tensor4D, targets: tf.Tensor): tf.Scalar {
  const [logits, regression] = heads(a, params, images);
  const [heat, centres, wanted] = tf.split(targets, [a.classes, 1, regressionChannels(a)], 3);
  const positive = tf.cast(tf.greaterEqual(heat!, 1), 'float32');
  const p = tf.sigmoid(logits);
  // −log p = softplus(−x), −log(1 − p) = softplus(x): stable for large |x|.
  const positiveLoss = tf.mul(tf.mul(positive, tf.square(tf.sub(1, p))), tf.softplus(tf.neg(logits)));
  const negativeWeight = tf.mul(tf.sub(1, positive), tf.square(tf.square(tf.sub(1, heat!))));
  const negativeLoss = tf.mul(tf.mul(negativeWeight, tf.square(p)), tf.softplus(logits));
  const focal = tf.sum(tf.add(positiveLoss, negativeLoss), [1, 2, 3]);
  const l1 = tf.sum(tf.mul(centres!, tf.abs(tf.sub(regression, wanted!))), [1, 2, 3]);
  const objects = tf.maximum(tf.sum(centres!, [1, 2, 3]), 1);
  return tf.sum(tf.div(tf.add(focal, l1), objects));
}

export function createNetwork(arch: Arch): Network {
  const a = arch as HeatmapArch;
  const g = gridSize(a);
  return {
    specs: heatmapSpecs(a),
    targetShape: [g, g, a.classes + 1 + regressionChannels(a)],
    loss: (params, images, targets) => loss(a, params, images, targets),
    predict: (params, images) => tf.concat(heads(a, params, images), 3),
  };
}

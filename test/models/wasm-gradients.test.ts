/**
 * Every kernel the project registers on the WebAssembly backend
 * (libs/tf/wasm-kernels) against the cpu backend's, the fused convolution
 * stage and weight and image standardization against the tfjs ops they
 * replace, and
 * the classifier's and the segmentation U-Net's whole gradients on both:
 * relative error (max |a − b| / max |b|) < 1e-4.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { selectBackend } from '../../libs/tf/backend.js';
import { convReluMaxPool } from '../../libs/tf/conv-relu-max-pool.js';
import { standardizeImages } from '../../libs/tf/standardize-images.js';
import { standardizedFilter } from '../../libs/tf/standardized-filter.js';
import { CLASSIFIER_HEADS, classifierSpecs, createNetwork } from '../../models/builtin/classifier/network.js';
import { createNetwork as createSegmentationNetwork, segmentationSpecs } from '../../models/builtin/segmentation/network.js';
import { initialParameters, type Network, type ParamSpec } from '../../models/builtin/network.js';

const TOLERANCE = 1e-4;

function randomArray(n: number, seed: string): Float32Array {
  const random = seedrandom(seed);
  return Float32Array.from({ length: n }, () => random() * 2 - 1);
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Runs `f` on a backend and returns its outputs' values. */
async function on(backend: 'wasm' | 'cpu', f: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  return tf.tidy(() => [f()].flat().map((t) => Float32Array.from(t.dataSync())));
}

function relativeError(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  let scale = 1e-12;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

async function expectSameOnBoth(f: () => tf.Tensor | tf.Tensor[], label: string): Promise<void> {
  const [wasm, cpu] = [await on('wasm', f), await on('cpu', f)];
  wasm.forEach((w, i) => {
    const err = relativeError(w, cpu[i]!);
    assert.ok(err < TOLERANCE, `${label}[${i}]: relative error ${err}`);
  });
}

const kernel = (name: string, inputs: Record<string, [number[], string]>, attrs: tf.NamedAttrMap) => () => {
  const tensors = Object.fromEntries(Object.entries(inputs).map(([k, [shape, seed]]) => [k, tf.tensor(randomArray(size(shape), seed), shape)]));
  return tf.engine().runKernel(name, tensors, attrs) as tf.Tensor;
};

describe('wasm training kernels match the cpu backend', () => {
  before(async () => {
    await selectBackend('wasm'); // registers the project's wasm kernels
  });

  const convCases: { x: number[]; f: number[]; strides: number; pad: 'same' | 'valid' | number }[] = [
    { x: [2, 9, 9, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
    { x: [2, 9, 7, 5], f: [3, 3, 5, 6], strides: 1, pad: 'valid' },
    { x: [3, 10, 10, 4], f: [3, 3, 4, 2], strides: 2, pad: 'same' },
    { x: [1, 11, 8, 2], f: [5, 3, 2, 3], strides: 2, pad: 'valid' },
    { x: [2, 8, 8, 3], f: [1, 1, 3, 5], strides: 1, pad: 'same' },
    { x: [2, 7, 7, 2], f: [3, 3, 2, 2], strides: 1, pad: 1 },
  ];

  for (const { x, f, strides, pad } of convCases) {
    const info = tf.backend_util.computeConv2DInfo(x as [number, number, number, number], f as [number, number, number, number], strides, 1, pad);
    const dy = info.outShape;
    const label = `x [${x}] filter [${f}] stride ${strides} pad ${pad}`;
    it(`Conv2DBackpropFilter, ${label}`, () =>
      expectSameOnBoth(kernel('Conv2DBackpropFilter', { x: [x, 'x'], dy: [dy, 'dy'] }, { strides, pad, dataFormat: 'NHWC', filterShape: f }), label));
    it(`Conv2DBackpropInput, ${label}`, () =>
      expectSameOnBoth(kernel('Conv2DBackpropInput', { dy: [dy, 'dy'], filter: [f, 'f'] }, { strides, pad, dataFormat: 'NHWC', inputShape: x }), label));
  }

  const poolCases: { x: [number, number, number, number]; filterSize: number; strides: number; pad: 'same' | 'valid' }[] = [
    { x: [2, 8, 8, 3], filterSize: 2, strides: 2, pad: 'valid' },
    { x: [2, 9, 7, 4], filterSize: 3, strides: 2, pad: 'same' },
    { x: [1, 6, 6, 2], filterSize: 3, strides: 1, pad: 'same' },
  ];
  for (const { x, filterSize, strides, pad } of poolCases) {
    const label = `x [${x}] window ${filterSize} stride ${strides} pad ${pad}`;
    it(`MaxPoolGrad, ${label}`, () =>
      expectSameOnBoth(() => {
        const input = tf.tensor4d(randomArray(size(x), 'x'), x);
        const outShape = tf.backend_util.computePool2DInfo(x, filterSize, strides, 1, pad).outShape;
        const weights = tf.tensor(randomArray(size(outShape), 'w'), outShape);
        return tf.grad((t) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, filterSize, strides, pad), weights)))(input);
      }, label));
  }

  // A window over the whole input (global average pooling: the project's kernel), and a smaller one (wasm's own).
  for (const [x, filterSize] of [[[3, 5, 4, 6], [5, 4]], [[2, 6, 6, 3], [2, 2]]] as [[number, number, number, number], [number, number]][]) {
    it(`AvgPoolGrad, x [${x}] window [${filterSize}]`, () =>
      expectSameOnBoth(() => {
        const outShape = tf.backend_util.computePool2DInfo(x, filterSize, 1, 1, 'valid').outShape;
        const weights = tf.tensor(randomArray(size(outShape), 'w'), outShape);
        return tf.grad((t) => tf.sum(tf.mul(tf.avgPool(t as tf.Tensor4D, filterSize, 1, 'valid'), weights)))(tf.tensor4d(randomArray(size(x), 'x'), x));
      }, `AvgPoolGrad [${x}]`));
  }

  it('MaxPoolGrad sends ties to the first maximum, as cpu does', () =>
    expectSameOnBoth(() => tf.grad((t) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(tf.zeros([1, 4, 4, 2])), 'ties'));

  // The fused stage (libs/tf/conv-relu-max-pool.ts): its own kernels on wasm, plain tfjs ops on cpu.
  const stageCases: { x: [number, number, number, number]; f: [number, number, number, number]; strides: number; pad: 'same' | 'valid' }[] = [
    { x: [2, 9, 9, 3], f: [3, 3, 3, 4], strides: 1, pad: 'same' },
    { x: [2, 8, 10, 5], f: [3, 3, 5, 6], strides: 1, pad: 'valid' },
    { x: [1, 12, 11, 4], f: [3, 3, 4, 8], strides: 2, pad: 'same' },
    { x: [3, 8, 8, 16], f: [3, 3, 16, 32], strides: 1, pad: 'same' },
    { x: [2, 10, 7, 2], f: [5, 3, 2, 3], strides: 1, pad: 'same' },
    // Odd sizes (the last row and column are no window's), 'valid', and 12 channels: one block of 8, one of 4.
    { x: [2, 9, 8, 5], f: [3, 3, 5, 12], strides: 1, pad: 'valid' },
    { x: [1, 7, 9, 3], f: [3, 3, 3, 12], strides: 1, pad: 'same' },
  ];
  const stage = (x: tf.Tensor, f: tf.Tensor, b: tf.Tensor, strides: number, pad: 'same' | 'valid') =>
    convReluMaxPool(x as tf.Tensor4D, f as tf.Tensor4D, b as tf.Tensor1D, { strides, pad });
  for (const { x, f, strides, pad } of stageCases) {
    const label = `x [${x}] filter [${f}] stride ${strides} pad ${pad}`;
    it(`convReluMaxPool value and gradients, ${label}`, () =>
      expectSameOnBoth(() => {
        const inputs = [tf.tensor(randomArray(size(x), 'x'), x), tf.tensor(randomArray(size(f), 'f'), f), tf.tensor(randomArray(f[3], 'b'), [f[3]])];
        const outShape = stage(inputs[0]!, inputs[1]!, inputs[2]!, strides, pad).shape;
        const weights = tf.tensor(randomArray(size(outShape), 'w'), outShape);
        const { value, grads } = tf.valueAndGrads((...t: tf.Tensor[]) => tf.sum(tf.mul(stage(t[0]!, t[1]!, t[2]!, strides, pad), weights)) as tf.Scalar)(inputs);
        // The stage's own output too, off the tape (inference).
        return [value, ...grads, stage(inputs[0]!, inputs[1]!, inputs[2]!, strides, pad)];
      }, label));
  }

  it('convReluMaxPool: ties go to the first maximum, windows at 0 pass no gradient', () =>
    expectSameOnBoth(() => {
      // Zero input: every output is its bias, so windows tie (bias > 0) or are off (bias ≤ 0).
      const inputs = [tf.zeros([2, 6, 6, 4]), tf.tensor(randomArray(3 * 3 * 4 * 8, 'f'), [3, 3, 4, 8]), tf.tensor([1, -1, 0.5, 0, 2, -0.5, 1, 0])];
      return tf.grads((...t: tf.Tensor[]) => tf.sum(stage(t[0]!, t[1]!, t[2]!, 1, 'same')) as tf.Scalar)(inputs);
    }, 'ties'));

  for (const shape of [[3, 8, 8, 3], [2, 5, 7, 3], [1, 40, 40, 3]] as [number, number, number, number][]) {
    it(`standardizeImages, [${shape}]`, () =>
      expectSameOnBoth(() => {
        // Offset and scaled per image, so each has its own mean and variance; one image constant (variance 0).
        const x = tf.tensor4d(randomArray(size(shape), 'img').map((v, i) => v * (1 + (i % 5)) + 3), shape);
        const [n, h, w, c] = shape;
        return standardizeImages(n > 1 ? tf.concat([x.slice(0, n - 1), tf.fill([1, h, w, c], 0.25)]) : x);
      }, `standardizeImages [${shape}]`));
  }

  it('standardizedFilter value and gradients', () =>
    expectSameOnBoth(() => {
      const shape: [number, number, number, number] = [3, 3, 5, 6];
      const inputs = [tf.tensor(randomArray(size(shape), 'f'), shape), tf.tensor(randomArray(6, 'g'), [6])];
      const weights = tf.tensor(randomArray(size(shape), 'w'), shape);
      const { value, grads } = tf.valueAndGrads((...t: tf.Tensor[]) =>
        tf.sum(tf.mul(standardizedFilter(t[0] as tf.Tensor4D, t[1] as tf.Tensor1D), weights)) as tf.Scalar)(inputs);
      return [value, standardizedFilter(inputs[0] as tf.Tensor4D, inputs[1] as tf.Tensor1D), ...grads];
    }, 'standardizedFilter'));

  /** A network's whole gradient at fresh parameters on two 16×16 images against `targets`, in a kernel-check runner. */
  const wholeGradient = (network: Network, specs: ParamSpec[], targets: () => tf.Tensor) => () => {
    const params = initialParameters(specs, 1);
    const x = tf.tensor4d(randomArray(2 * 16 * 16 * 3, 'img').map((v) => (v + 1) / 2), [2, 16, 16, 3]);
    const y = targets();
    return tf.grads((...p: tf.Tensor[]) => network.loss(p, x, y))(params.map((p) => tf.tensor(p.data, p.shape)));
  };
  const arch = { inputSize: 16, width: 4, depth: 2, classes: 3 };

  for (const head of CLASSIFIER_HEADS) {
    it(`the classifier's whole gradient (${head} head)`, () => {
      const a = { ...arch, head };
      return expectSameOnBoth(wholeGradient(createNetwork(a), classifierSpecs(a), () => tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3)), `classifier, ${head} head`);
    });
  }

  it("the segmentation U-Net's whole gradient, unlabelled pixels included", () =>
    // Classes 0–2 per pixel, −1 (ignored) on about a quarter of them.
    expectSameOnBoth(wholeGradient(createSegmentationNetwork(arch), segmentationSpecs(arch),
      () => tf.tensor3d(randomArray(2 * 16 * 16, 'mask').map((v) => Math.floor((v + 1) * 2) - 1), [2, 16, 16])), 'segmentation'));
});

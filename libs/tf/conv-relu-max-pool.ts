/**
 * One convolution stage as a single differentiable op:
 * maxPool(relu(conv2d(x, filter) + bias)) with 2×2 windows at stride 2
 * ('valid'). Under a gradient tape, on a backend with the fused kernel (the
 * project registers one for WebAssembly, libs/tf/wasm-kernels), the
 * convolution stays fused with bias and ReLU, pooling records each window's
 * argmax, and the backward pass turns the pooled gradient into the
 * convolution's output gradient and the bias gradient in one pass, instead
 * of what tf.fused.conv2d falls back to under a tape: separate Conv2D, Add,
 * Relu and MaxPool forward and MaxPoolGrad, Step, Multiply and Sum backward,
 * each a full pass over the activations. Otherwise it is exactly those tfjs ops.
 */
import * as tf from '@tensorflow/tfjs';

/** Outputs [pooled, argmax]; argmax: per pooled value its window offset ky·2 + kx, plus 4 where the value is 0 (ReLU off). */
export const CONV_RELU_MAX_POOL = 'ConvReluMaxPool';
/** Inputs dy (pooled gradient), argmax; outputs [dz, dbias], dz the gradient of the convolution's output (pre-activation). */
export const CONV_RELU_MAX_POOL_GRAD = 'ConvReluMaxPoolGrad';

export interface ConvReluMaxPoolAttrs {
  strides: number;
  pad: 'same' | 'valid';
}

/** The convolution's attributes as its kernels take them. */
const convAttrs = ({ strides, pad }: ConvReluMaxPoolAttrs) => ({ strides, pad, dataFormat: 'NHWC', dilations: 1 });

export function convReluMaxPool(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, attrs: ConvReluMaxPoolAttrs): tf.Tensor4D {
  const taped = tf.engine().state.gradientDepth > 0;
  if (!taped || !tf.getKernel(CONV_RELU_MAX_POOL, tf.getBackend())) {
    const conv = tf.fused.conv2d({ x, filter, bias, strides: attrs.strides, pad: attrs.pad, activation: 'relu' });
    return tf.maxPool(conv, 2, 2, 'valid');
  }
  const [pooled] = tf.engine().runKernel(CONV_RELU_MAX_POOL, { x, filter, bias }, { ...attrs }) as tf.Tensor[];
  return pooled as tf.Tensor4D;
}

tf.registerGradient({
  kernelName: CONV_RELU_MAX_POOL,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [false, true],
  gradFunc: (dys, saved, attrs) => {
    const [dy] = dys as tf.Tensor[];
    const [x, filter, argmax] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor];
    const a = attrs as unknown as ConvReluMaxPoolAttrs;
    const convShape = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, a.strides, 1, a.pad).outShape;
    // Here, not in the per-input closures below: the engine runs each of those in a scope of its own.
    const [dz, dbias] = tf.engine().runKernel(CONV_RELU_MAX_POOL_GRAD, { dy: dy!, argmax }, { convShape }) as tf.Tensor[];
    return {
      x: () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dz!, filter }, { ...convAttrs(a), inputShape: x.shape }) as tf.Tensor,
      filter: () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy: dz! }, { ...convAttrs(a), filterShape: filter.shape }) as tf.Tensor,
      bias: () => dbias!,
    };
  },
});

/**
 * One convolution stage as a single differentiable op:
 * maxPool(relu(conv2d(x, filter) + bias)) with 2×2 windows at stride 2
 * ('valid'). On a backend with the fused kernels (the project registers
 * them for WebAssembly, libs/tf/wasm-kernels), the forward pools as it
 * convolves (the full-resolution activation is never written) and records
 * each window's argmax; under a gradient tape the gradients are computed
 * from the argmaxes and the pooled gradient directly, instead of what
 * tf.fused.conv2d falls back to under a tape: separate Conv2D, Add, Relu
 * and MaxPool forward, and MaxPoolGrad, Step, Multiply, Sum,
 * Conv2DBackpropFilter and Conv2DBackpropInput backward, each a full pass
 * over the activations. Otherwise it is exactly those tfjs ops.
 */
import * as tf from '@tensorflow/tfjs';

/** Outputs [pooled, argmax]; argmax: per pooled value its window offset ky·2 + kx, plus 4 where the value is 0 (ReLU off). */
export const CONV_RELU_MAX_POOL = 'ConvReluMaxPool';
/** Inputs x, dy (pooled gradient), argmax; outputs [dFilter, dBias]. */
export const CONV_RELU_MAX_POOL_GRAD = 'ConvReluMaxPoolGrad';
/** Inputs dy, argmax, filter; output dx. */
export const CONV_RELU_MAX_POOL_GRAD_INPUT = 'ConvReluMaxPoolGradInput';

export interface ConvReluMaxPoolAttrs {
  strides: number;
  pad: 'same' | 'valid';
}

export function convReluMaxPool(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor1D, attrs: ConvReluMaxPoolAttrs): tf.Tensor4D {
  if (!tf.getKernel(CONV_RELU_MAX_POOL, tf.getBackend())) {
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
    const { strides, pad } = attrs as unknown as ConvReluMaxPoolAttrs;
    // Here, not in the per-input closures below: the engine runs each of those in a scope of its own.
    const [dFilter, dBias] = tf.engine().runKernel(CONV_RELU_MAX_POOL_GRAD, { x, dy: dy!, argmax }, { strides, pad, filterShape: filter.shape }) as tf.Tensor[];
    return {
      x: () => tf.engine().runKernel(CONV_RELU_MAX_POOL_GRAD_INPUT, { dy: dy!, argmax, filter }, { strides, pad, inputShape: x.shape }) as tf.Tensor,
      filter: () => dFilter!,
      bias: () => dBias!,
    };
  },
});

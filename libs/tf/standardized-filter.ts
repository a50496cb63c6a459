/**
 * Scaled weight standardization of a convolution filter [kh, kw, cin, cout],
 * per output channel: W' = gain · √2 · (W − mean) / √((var + 1e-6) · fanIn),
 * fanIn = kh·kw·cin (√2: ReLU's gain). As tfjs ops that is a dozen kernel
 * calls forward and more backward, each tiny: on WebAssembly the project
 * registers one kernel for each direction (libs/tf/wasm-kernels), which is
 * where per-op overhead dominated a training step's fixed cost. Elsewhere it
 * is exactly the tfjs ops.
 */
import * as tf from '@tensorflow/tfjs';

/** Inputs filter, gain; output the standardized filter. */
export const STANDARDIZED_FILTER = 'StandardizedFilter';
/** Inputs dy, filter, gain; outputs [dFilter, dGain]. */
export const STANDARDIZED_FILTER_GRAD = 'StandardizedFilterGrad';
export const EPSILON = 1e-6;

export function standardizedFilter(filter: tf.Tensor4D, gain: tf.Tensor1D): tf.Tensor4D {
  if (tf.getKernel(STANDARDIZED_FILTER, tf.getBackend())) {
    return tf.engine().runKernel(STANDARDIZED_FILTER, { filter, gain }) as tf.Tensor4D;
  }
  const [kh, kw, cin] = filter.shape;
  const { mean, variance } = tf.moments(filter, [0, 1, 2], true);
  const scale = tf.mul(gain, tf.div(Math.SQRT2, tf.sqrt(tf.mul(tf.add(variance, EPSILON), kh * kw * cin))));
  return tf.mul(tf.sub(filter, mean), scale);
}

tf.registerGradient({
  kernelName: STANDARDIZED_FILTER,
  inputsToSave: ['filter', 'gain'],
  gradFunc: (dy, saved) => {
    const [filter, gain] = saved as [tf.Tensor4D, tf.Tensor1D];
    // Here, not in the closures: the engine runs each of those in a scope of its own.
    const [dFilter, dGain] = tf.engine().runKernel(STANDARDIZED_FILTER_GRAD, { dy: dy as tf.Tensor, filter, gain }) as tf.Tensor[];
    return { filter: () => dFilter!, gain: () => dGain! };
  },
});

/**
 * Per-image standardization, (x − mean) / √(variance + ε) over each image's
 * values: brightness and contrast stop mattering, which spares a small
 * network (without batch norm) a long plateau. One kernel on a backend that
 * registers it (WebAssembly: libs/tf/wasm-kernels), where the tfjs ops
 * (moments, subtract, divide) cost a tenth of a whole forward pass;
 * otherwise exactly those ops. It has no gradient: networks apply it to
 * their input images only.
 */
import * as tf from '@tensorflow/tfjs';

export const STANDARDIZE_IMAGES = 'StandardizeImages';
export const EPSILON = 1e-3;

export function standardizeImages(images: tf.Tensor4D): tf.Tensor4D {
  if (tf.getKernel(STANDARDIZE_IMAGES, tf.getBackend())) {
    return tf.engine().runKernel(STANDARDIZE_IMAGES, { x: images }, { epsilon: EPSILON }) as tf.Tensor4D;
  }
  const { mean, variance } = tf.moments(images, [1, 2, 3], true);
  return tf.div(tf.sub(images, mean), tf.sqrt(tf.add(variance, EPSILON)));
}

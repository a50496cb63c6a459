/**
 * Training kernels for the WebAssembly backend: the ones it lacks
 * (Conv2DBackpropFilter), faster versions of ones it has
 * (Conv2DBackpropInput, MaxPoolGrad, AvgPoolGrad of a global window), the fused convolution stage
 * (libs/tf/conv-relu-max-pool.ts), weight standardization
 * (libs/tf/standardized-filter.ts) and image standardization
 * (libs/tf/standardize-images.ts). Call after the wasm backend is ready.
 */
import * as tf from '@tensorflow/tfjs';
import { avgPoolGradConfig } from './avg-pool-grad.js';
import { conv2DBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputConfig } from './conv2d-backprop-input.js';
import { convReluMaxPoolConfig, convReluMaxPoolGradConfig, convReluMaxPoolGradInputConfig } from './conv-relu-max-pool.js';
import { maxPoolGradConfig } from './max-pool-grad.js';
import { standardizeImagesConfig } from './standardize-images.js';
import { standardizedFilterConfig, standardizedFilterGradConfig } from './standardized-filter.js';

let registered = false;

export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  const builtinBackpropInput = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
  const builtinAvgPoolGrad = tf.getKernel(tf.AvgPoolGrad, 'wasm');
  if (!builtinBackpropInput || !builtinAvgPoolGrad) throw new Error('the wasm backend is not loaded');
  const replace = (config: tf.KernelConfig) => {
    if (tf.getKernel(config.kernelName, 'wasm')) tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel(config);
  };
  replace(conv2DBackpropFilterConfig);
  replace(conv2DBackpropInputConfig(builtinBackpropInput));
  replace(maxPoolGradConfig);
  replace(avgPoolGradConfig(builtinAvgPoolGrad));
  replace(convReluMaxPoolConfig);
  replace(convReluMaxPoolGradConfig);
  replace(convReluMaxPoolGradInputConfig);
  replace(standardizedFilterConfig);
  replace(standardizedFilterGradConfig);
  replace(standardizeImagesConfig);
}

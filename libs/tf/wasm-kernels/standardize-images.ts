/** The WebAssembly kernel behind standardizeImages (libs/tf/standardize-images.ts), its loops in the SIMD module. */
import * as tf from '@tensorflow/tfjs';
import { STANDARDIZE_IMAGES } from '../standardize-images.js';
import { simdKernels } from './simd-module.js';
import { scopeOf } from './wasm-scope.js';

export const standardizeImagesConfig: tf.KernelConfig = {
  kernelName: STANDARDIZE_IMAGES,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const { epsilon } = attrs as unknown as { epsilon: number };
    const s = scopeOf(backend);
    const out = s.scratch(x.shape);
    const n = x.shape[0]!;
    simdKernels(s.backend).standardizeImages(s.ptr(x), s.ptr(out), n, tf.util.sizeFromShape(x.shape) / n, epsilon);
    return s.keep(out);
  },
};

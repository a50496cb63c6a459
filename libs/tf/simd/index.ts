// AssemblyScript entry of the project's SIMD module (compiled by
// `npm run build:simd` to kernels.wasm): the inner loops of the kernels in
// libs/tf/wasm-kernels, in 128-bit SIMD over tfjs's own WebAssembly memory
// (imported), so tensors are read and written in place, and the weighted sum
// of state averaging, the row dot products of the diversity rankers and the
// FileServer's Lanczos reduce of small images (each over a memory of its
// own). Pointers are byte offsets; layouts are NHWC.
export * from './conv-relu-max-pool';
export * from './standardize-images';
export * from './weighted-sum';
export * from './row-dots';
export * from './reduce-rows';

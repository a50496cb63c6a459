/**
 * The project's own SIMD kernels (libs/tf/simd/index.ts, AssemblyScript,
 * built by `npm run build:simd`), instantiated on the tfjs WebAssembly backend's
 * memory so that they work on tensors in place (one instance per backend), or
 * on a memory of the caller's (simdKernelsOn).
 */
import { readFileSync } from 'node:fs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export interface SimdKernels {
  standardizeImages(x: number, out: number, n: number, len: number, epsilon: number): void;
  poolWithArgmax(a: number, pooled: number, argmax: number, n: number, oh: number, ow: number, c: number): void;
  padInput(x: number, padded: number): void;
  convPool(padded: number, filter: number, bias: number, pooled: number, argmax: number): void;
  setStage(n: number, ih: number, iw: number, ci: number, kh: number, kw: number, co: number, stride: number, padTop: number, padLeft: number, ph: number, pw: number): void;
  filterRowStride(): number;
  filterGradient(dy: number, argmax: number, x: number, dFilter: number, dBias: number): void;
  inputGradient(dy: number, argmax: number, filter: number, dx: number): void;
  weightedAdd(acc: number, x: number, n: number, w: number, s: number): void;
  weightedSet(acc: number, x: number, n: number, w: number): void;
  rowDots(x: number, n: number, d: number, v: number, out: number): void;
  reduceRows(src: number, row: number, index: number, weight: number, taps: number, length: number, out: number): void;
  transposePixels(src: number, height: number, width: number, channels: number, out: number): void;
}

// The WebAssembly API as used here (@types/node 20 does not declare it, and lib "DOM" is not loaded).
declare global {
  namespace WebAssembly {
    class Memory { constructor(descriptor: { initial: number; maximum?: number }); readonly buffer: ArrayBuffer }
    class Module {
      constructor(bytes: Uint8Array);
      static imports(module: Module): { module: string; name: string; kind: string }[];
    }
    class Instance { constructor(module: Module, imports: Record<string, Record<string, unknown>>); readonly exports: Record<string, unknown> }
  }
}

const compiled = new WebAssembly.Module(readFileSync(new URL('../simd/kernels.wasm', import.meta.url)));
const instances = new WeakMap<BackendWasm, SimdKernels>();

/** The kernels working on `memory` (pointers are byte offsets into it). */
export function simdKernelsOn(memory: WebAssembly.Memory): SimdKernels {
  return new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as SimdKernels;
}

export function simdKernels(backend: BackendWasm): SimdKernels {
  let kernels = instances.get(backend);
  if (!kernels) {
    kernels = simdKernelsOn((backend.wasm as unknown as { asm: { memory: WebAssembly.Memory } }).asm.memory);
    instances.set(backend, kernels);
  }
  return kernels;
}

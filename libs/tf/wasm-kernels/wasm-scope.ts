/**
 * Composes a WebAssembly-backend kernel out of other kernels and plain JS
 * over the wasm heap, below the engine: intermediates are TensorInfos the
 * scope frees, so a composed kernel leaks nothing and records nothing on the
 * gradient tape.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type Inputs = tf.NamedTensorInfoMap | tf.TensorInfo[];

export class WasmScope {
  private readonly temps: tf.TensorInfo[] = [];

  constructor(readonly backend: BackendWasm) {}

  /** Runs the wasm kernel `name`; its output is freed by keep() unless it is the result. */
  run(name: string, inputs: Inputs, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const kernel = tf.getKernel(name, 'wasm');
    if (!kernel) throw new Error(`wasm has no ${name} kernel`);
    // Kernels whose inputs are a list (Concat, Pack) take the array itself.
    const out = kernel.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, attrs, backend: this.backend });
    const info = Array.isArray(out) ? out[0]! : out;
    this.temps.push(info);
    return info;
  }

  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  /** A fresh float32 tensor on the heap, zero-filled. */
  output(shape: number[]): tf.TensorInfo {
    const info = this.scratch(shape);
    this.view(info).fill(0);
    return info;
  }

  /** A fresh tensor on the heap with undefined values, for a caller that writes every one. */
  scratch(shape: number[], dtype: 'float32' | 'int32' = 'float32'): tf.TensorInfo {
    const info = this.backend.makeOutput(shape, dtype);
    this.temps.push(info);
    return info;
  }

  /**
   * The float32 tensor's values in place. Heap growth (any allocation)
   * detaches earlier views, so take views after allocating.
   */
  view(info: tf.TensorInfo): Float32Array {
    return this.backend.typedArrayFromHeap(info) as Float32Array;
  }

  /** Where the tensor's values start in the heap, in bytes (for the project's SIMD kernels). */
  ptr(info: tf.TensorInfo): number {
    return this.view(info).byteOffset;
  }

  /** The whole heap as floats, and where `info`'s values start in it (see view()). */
  heap(info: tf.TensorInfo): [Float32Array, number] {
    const v = this.view(info);
    return [new Float32Array(v.buffer), v.byteOffset >> 2];
  }

  /** Hands `result` (or several, for a kernel with several outputs) to the caller and frees every other intermediate. */
  keep(result: tf.TensorInfo): tf.TensorInfo;
  keep(...results: tf.TensorInfo[]): tf.TensorInfo[];
  keep(...results: tf.TensorInfo[]): tf.TensorInfo | tf.TensorInfo[] {
    for (const t of this.temps) if (!results.includes(t)) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
    return results.length === 1 ? results[0]! : results;
  }
}

/** The scope a wasm kernel function runs in. */
export const scopeOf = (backend: unknown): WasmScope => new WasmScope(backend as BackendWasm);

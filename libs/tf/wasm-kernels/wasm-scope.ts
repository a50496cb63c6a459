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

  /** A fresh float32 tensor on the heap, zero-filled, to be written through view(). */
  output(shape: number[]): tf.TensorInfo {
    const info = this.backend.makeOutput(shape, 'float32');
    this.temps.push(info);
    this.view(info).fill(0);
    return info;
  }

  /**
   * The tensor's values in place. Heap growth (any allocation) detaches
   * earlier views, so take views after allocating.
   */
  view(info: tf.TensorInfo): Float32Array {
    return this.backend.typedArrayFromHeap(info) as Float32Array;
  }

  /** Hands `result` to the caller and frees every other intermediate. */
  keep(result: tf.TensorInfo): tf.TensorInfo {
    for (const t of this.temps) if (t !== result) this.backend.disposeData(t.dataId);
    this.temps.length = 0;
    return result;
  }
}

/** The scope a wasm kernel function runs in. */
export const scopeOf = (backend: unknown): WasmScope => new WasmScope(backend as BackendWasm);

/**
 * The compact form a diversity ranker keeps of a candidate pool: the
 * embeddings of the unannotated candidates as rows of one float32 matrix (and
 * of the annotated images, the centres already covered, in another), their
 * squared norms, ids, and optional per-candidate vectors (class-probability
 * residuals for BADGE). Memory is (rows × (dim + extra + 2) × 4) bytes plus
 * the ids: linear in the pool, never its square.
 */
import type { ImageOutput, RankData } from '../../libs/plugin/data.js';
import type { RankExtra } from '../../libs/plugin/plugin.js';
import { simdKernelsOn, type SimdKernels } from '../../libs/tf/wasm-kernels/simd-module.js';

const PAGE_BYTES = 65536;

/**
 * A float32 matrix that grows by rows (capacity doubles, so appending is
 * amortized O(cols)), held in a WebAssembly memory of its own beside one
 * vector and one float per row, so that the dot products of every row with a
 * vector run in the project's SIMD kernel (libs/tf/simd/row-dots.ts).
 */
export class RowMatrix {
  data!: Float32Array;
  rows = 0;
  #capacity = 0;
  #kernels!: SimdKernels;
  #vector!: Float32Array;
  #memory!: WebAssembly.Memory;

  constructor(readonly cols: number, capacity = 1024) {
    this.#allocate(Math.max(1, capacity));
  }

  /** Layout: rows (capacity × cols floats), then the vector (cols), then one float per row. */
  #allocate(capacity: number): void {
    const bytes = (capacity * this.cols + this.cols + capacity) * 4;
    const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / PAGE_BYTES) });
    const data = new Float32Array(memory.buffer, 0, capacity * this.cols);
    if (this.data) data.set(this.data.subarray(0, this.rows * this.cols));
    this.#memory = memory;
    this.data = data;
    this.#vector = new Float32Array(memory.buffer, capacity * this.cols * 4, this.cols);
    this.#kernels = simdKernelsOn(memory);
    this.#capacity = capacity;
  }

  append(values: ArrayLike<number>): void {
    if (this.rows === this.#capacity) this.#allocate(this.#capacity * 2);
    this.data.set(values, this.rows * this.cols);
    this.rows++;
  }

  /** Row i (a view: valid until the next append). */
  row(i: number): Float32Array {
    return this.data.subarray(i * this.cols, (i + 1) * this.cols);
  }

  /** x_i · v for every row i, v of cols values: a view, valid until the next call or append. */
  dotsWith(v: ArrayLike<number>): Float32Array {
    this.#vector.set(v);
    const vectorAt = this.#capacity * this.cols * 4;
    const outAt = vectorAt + this.cols * 4;
    this.#kernels.rowDots(0, this.rows, this.cols, vectorAt, outAt);
    return new Float32Array(this.#memory.buffer, outAt, this.rows);
  }
}

/** Σ x² of row i. */
export function rowNorms(m: RowMatrix): Float32Array {
  const out = new Float32Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let j = i * m.cols, end = j + m.cols; j < end; j++) s += m.data[j]! * m.data[j]!;
    out[i] = s;
  }
  return out;
}

export interface EmbeddingPool {
  /** Unannotated candidates, in pool order. */
  ids: string[];
  candidates: RowMatrix;
  /** Annotated images: the centres already covered. */
  centres: RowMatrix;
  /** Per candidate, when the ranker asked for them (see readEmbeddingPool). */
  extras?: RowMatrix;
}

/**
 * Reads the whole pool into its compact form. The candidates are the
 * unannotated images with predictions (NextBatch lists no other), each with
 * an embedding of one length: a candidate without one is an error naming the
 * model's omission (a diversity ranker cannot place it). An annotated image
 * with an embedding is a centre. `extraOf`, if given, maps each candidate to
 * a vector kept beside its embedding (one length for all).
 */
export async function readEmbeddingPool(
  pool: AsyncIterable<RankData>, ranker: string, extra?: RankExtra, extraOf?: (image: ImageOutput) => Float64Array,
): Promise<EmbeddingPool> {
  // The pool's size where the caller knows it: the matrices are allocated once (bounded, in case the hint is wild).
  const capacity = typeof extra?.poolSize === 'number' && extra.poolSize > 0 ? Math.min(extra.poolSize, 1 << 20) : 1024;
  let out: EmbeddingPool | undefined;
  for await (const batch of pool) {
    extra?.signal?.throwIfAborted();
    for (const [id, image] of Object.entries(batch)) {
      if (!image.annotated && image.predictions.length === 0) continue;
      const e = image.embedding;
      if (!e || e.length === 0) {
        if (image.annotated) continue; // not a centre: nothing to measure from
        throw new Error(`${ranker} ranks by image embeddings, and image ${id} has none: its model gives no embedding`);
      }
      out ??= { ids: [], candidates: new RowMatrix(e.length, capacity), centres: new RowMatrix(e.length, 256) };
      if (e.length !== out.candidates.cols) throw new Error(`image ${id} has an embedding of ${e.length} values, others ${out.candidates.cols}`);
      if (image.annotated) {
        out.centres.append(e);
        continue;
      }
      out.ids.push(id);
      out.candidates.append(e);
      if (extraOf) {
        const values = extraOf(image);
        out.extras ??= new RowMatrix(values.length, capacity);
        if (values.length !== out.extras.cols) throw new Error(`image ${id} has ${values.length} classes, others ${out.extras.cols}`);
        out.extras.append(values);
      }
    }
  }
  return out ?? { ids: [], candidates: new RowMatrix(1, 1), centres: new RowMatrix(1, 1) };
}

/** Index of the largest value among those not excluded (first on ties), or -1. */
export function argmax(values: Float32Array | Float64Array): number {
  let best = -1;
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) { max = values[i]!; best = i; }
  return best;
}

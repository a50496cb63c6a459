/**
 * The compact form a diversity ranker keeps of a candidate pool: the
 * embeddings of the unannotated candidates as rows of one float32 matrix (and
 * of the annotated images, the centres already covered, in another), their
 * squared norms, ids, and optional per-candidate vectors (class-probability
 * residuals for BADGE). Memory is (rows × (dim + extra) × 4) bytes plus the
 * ids: linear in the pool, never its square.
 */
import type { ImageOutput, RankData } from '../../libs/plugin/data.js';
import type { RankExtra } from '../../libs/plugin/plugin.js';

/** A float32 matrix that grows by rows (capacity doubles, so appending is amortized O(cols)). */
export class RowMatrix {
  data: Float32Array;
  rows = 0;

  constructor(readonly cols: number, capacity = 1024) {
    this.data = new Float32Array(Math.max(1, capacity) * cols);
  }

  append(values: ArrayLike<number>): void {
    if ((this.rows + 1) * this.cols > this.data.length) {
      const grown = new Float32Array(Math.max(this.data.length * 2, (this.rows + 1) * this.cols));
      grown.set(this.data);
      this.data = grown;
    }
    this.data.set(values as ArrayLike<number>, this.rows * this.cols);
    this.rows++;
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

/** Dot product of row i of a and row j of b (same cols). */
export function dot(a: RowMatrix, i: number, b: RowMatrix, j: number): number {
  const n = a.cols;
  const x = a.data;
  const y = b.data;
  let ai = i * n;
  let bj = j * n;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const end = ai + n - (n % 4);
  // Four partial sums: fewer dependent additions in a row, which V8's code runs noticeably faster.
  for (; ai < end; ai += 4, bj += 4) {
    s0 += x[ai]! * y[bj]!;
    s1 += x[ai + 1]! * y[bj + 1]!;
    s2 += x[ai + 2]! * y[bj + 2]!;
    s3 += x[ai + 3]! * y[bj + 3]!;
  }
  for (; ai < i * n + n; ai++, bj++) s0 += x[ai]! * y[bj]!;
  return s0 + s1 + s2 + s3;
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

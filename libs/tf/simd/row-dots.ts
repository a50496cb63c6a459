// AssemblyScript: the dot product of every row of a float32 matrix with one
// vector, in 128-bit SIMD: the inner loop of the diversity rankers
// (models/rankers/embedding-pool.ts), which measure each candidate's distance
// to a new centre as ‖x‖² + ‖c‖² − 2 x·c, over a memory the ranker owns.

/** out[i] = Σⱼ x[i·d + j] · v[j] for i < n (floats, row-major; no alignment needed). */
export function rowDots(x: usize, n: i32, d: i32, v: usize, out: usize): void {
  for (let i = 0; i < n; i++) {
    const row = x + ((<usize>i * <usize>d) << 2);
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let j = 0;
    // Two accumulators: the additions of one do not wait on the other's.
    for (; j + 8 <= d; j += 8) {
      const r = row + (<usize>j << 2);
      const w = v + (<usize>j << 2);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(r), v128.load(w)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(r, 16), v128.load(w, 16)));
    }
    const a = f32x4.add(a0, a1);
    let s = f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1) + f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3);
    for (; j < d; j++) s += load<f32>(row + (<usize>j << 2)) * load<f32>(v + (<usize>j << 2));
    store<f32>(out + (<usize>i << 2), s);
  }
}

// AssemblyScript: the weighted sum of model-state averaging
// (models/builtin/stream-average.ts), in 128-bit SIMD over a memory the
// averager owns: acc += w·x for each state's floats as they arrive, then one
// scaling by 1 / Σw. Memory-bound, so the loop is unrolled to keep four
// loads in flight.

/** acc[i] += w · x[i] for i < n (floats; x need not be aligned). */
export function weightedAdd(acc: usize, x: usize, n: i32, w: f32): void {
  const k = f32x4.splat(w);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const a = acc + (<usize>i << 2);
    const b = x + (<usize>i << 2);
    v128.store(a, f32x4.add(v128.load(a), f32x4.mul(v128.load(b), k)));
    v128.store(a, f32x4.add(v128.load(a, 16), f32x4.mul(v128.load(b, 16), k)), 16);
    v128.store(a, f32x4.add(v128.load(a, 32), f32x4.mul(v128.load(b, 32), k)), 32);
    v128.store(a, f32x4.add(v128.load(a, 48), f32x4.mul(v128.load(b, 48), k)), 48);
  }
  for (; i + 4 <= n; i += 4) {
    const a = acc + (<usize>i << 2);
    v128.store(a, f32x4.add(v128.load(a), f32x4.mul(v128.load(x + (<usize>i << 2)), k)));
  }
  for (; i < n; i++) {
    const a = acc + (<usize>i << 2);
    store<f32>(a, load<f32>(a) + load<f32>(x + (<usize>i << 2)) * w);
  }
}

/**
 * acc[i] = w · x[i] for i < n: the first state's floats, written without
 * reading the fresh accumulator (a read would first map the zero page, then
 * the write fault again).
 */
export function weightedSet(acc: usize, x: usize, n: i32, w: f32): void {
  const k = f32x4.splat(w);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const a = acc + (<usize>i << 2);
    const b = x + (<usize>i << 2);
    v128.store(a, f32x4.mul(v128.load(b), k));
    v128.store(a, f32x4.mul(v128.load(b, 16), k), 16);
    v128.store(a, f32x4.mul(v128.load(b, 32), k), 32);
    v128.store(a, f32x4.mul(v128.load(b, 48), k), 48);
  }
  for (; i < n; i++) store<f32>(acc + (<usize>i << 2), load<f32>(x + (<usize>i << 2)) * w);
}

/** acc[i] *= s for i < n. */
export function scaleFloats(acc: usize, n: i32, s: f32): void {
  const k = f32x4.splat(s);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a = acc + (<usize>i << 2);
    v128.store(a, f32x4.mul(v128.load(a), k));
  }
  for (; i < n; i++) {
    const a = acc + (<usize>i << 2);
    store<f32>(a, load<f32>(a) * s);
  }
}

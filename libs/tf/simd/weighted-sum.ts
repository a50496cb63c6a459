// AssemblyScript: the weighted sum of model-state averaging
// (models/builtin/stream-average.ts), in 128-bit SIMD over a memory the
// averager owns: acc = w·x for the first state's floats, acc += w·x for the
// next ones as they arrive, the last one's sum scaled by 1 / Σw on the way
// (no extra pass). Memory-bound, so the loops are unrolled to keep four loads
// in flight.

/** acc[i] = (acc[i] + w · x[i]) · s for i < n (floats; x need not be aligned). */
export function weightedAdd(acc: usize, x: usize, n: i32, w: f32, s: f32): void {
  const k = f32x4.splat(w);
  const t = f32x4.splat(s);
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const a = acc + (<usize>i << 2);
    const b = x + (<usize>i << 2);
    v128.store(a, f32x4.mul(f32x4.add(v128.load(a), f32x4.mul(v128.load(b), k)), t));
    v128.store(a, f32x4.mul(f32x4.add(v128.load(a, 16), f32x4.mul(v128.load(b, 16), k)), t), 16);
    v128.store(a, f32x4.mul(f32x4.add(v128.load(a, 32), f32x4.mul(v128.load(b, 32), k)), t), 32);
    v128.store(a, f32x4.mul(f32x4.add(v128.load(a, 48), f32x4.mul(v128.load(b, 48), k)), t), 48);
  }
  for (; i < n; i++) {
    const a = acc + (<usize>i << 2);
    store<f32>(a, (load<f32>(a) + load<f32>(x + (<usize>i << 2)) * w) * s);
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

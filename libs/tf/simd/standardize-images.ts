// AssemblyScript: per-image standardization, the loops of
// libs/tf/wasm-kernels/standardize-images.ts.

/** Values summed in f32 lanes before the total moves to f64 (keeps the sums exact enough for large images). */
const CHUNK = 1024;

/** Sum of src[0..len) (floats), or of (src − shift)² when `squares`. */
// @ts-ignore: decorator
@inline function sum(src: usize, len: i32, shift: f32, squares: bool): f64 {
  const s = f32x4.splat(shift);
  let total: f64 = 0;
  let i = 0;
  while (i + 4 <= len) {
    const end = min(len & ~3, i + CHUNK);
    let acc = f32x4.splat(0);
    for (; i < end; i += 4) {
      const v = f32x4.sub(v128.load(src + (<usize>i << 2)), s);
      acc = f32x4.add(acc, squares ? f32x4.mul(v, v) : v);
    }
    total += <f64>f32x4.extract_lane(acc, 0) + <f64>f32x4.extract_lane(acc, 1) + <f64>f32x4.extract_lane(acc, 2) + <f64>f32x4.extract_lane(acc, 3);
  }
  for (; i < len; i++) {
    const v = load<f32>(src + (<usize>i << 2)) - shift;
    total += squares ? <f64>(v * v) : <f64>v;
  }
  return total;
}

/**
 * out = (x − mean) / sqrt(variance + epsilon) per image, over each image's
 * `len` values (x and out: n·len floats; they may be the same).
 */
export function standardizeImages(x: usize, out: usize, n: i32, len: i32, epsilon: f32): void {
  for (let b = 0; b < n; b++) {
    const src = x + (<usize>(b * len) << 2);
    const dst = out + (<usize>(b * len) << 2);
    const mean = <f32>(sum(src, len, 0, false) / len);
    const variance = <f32>(sum(src, len, mean, true) / len);
    const scale = <f32>1 / Mathf.sqrt(variance + epsilon);
    const m = f32x4.splat(mean);
    const k = f32x4.splat(scale);
    let i = 0;
    for (; i + 4 <= len; i += 4) {
      v128.store(dst + (<usize>i << 2), f32x4.mul(f32x4.sub(v128.load(src + (<usize>i << 2)), m), k));
    }
    for (; i < len; i++) store<f32>(dst + (<usize>i << 2), (load<f32>(src + (<usize>i << 2)) - mean) * scale);
  }
}

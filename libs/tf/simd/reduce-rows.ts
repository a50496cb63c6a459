// AssemblyScript: libvips' Lanczos reduce of 8-bit samples (vips_reducev) for
// the FileServer's small-image resize (services/fileserver/resize.ts), in
// 128-bit SIMD over a memory the resizer owns: 16 samples of a row at a time,
// widened to 32 bits, each tap's source row times its fixed-point weight
// added in, then rounded half up, shifted and clipped to 0–255 as libvips
// does. A horizontal reduce runs as a vertical one between two transposes.

/**
 * out[o·row + x] = clip((Σₜ src[index[o·taps + t]·row + x] · weight[o·taps + t] + 2¹¹) >> 12) for o < length,
 * x < row (bytes; index and weight are i32 arrays).
 */
export function reduceRows(src: usize, row: i32, index: usize, weight: usize, taps: i32, length: i32, out: usize): void {
  const half = i32x4.splat(1 << 11);
  for (let o = 0; o < length; o++) {
    const kernel = <usize>(o * taps) << 2;
    const target = out + <usize>(o * row);
    let x = 0;
    for (; x + 16 <= row; x += 16) {
      let a0 = i32x4.splat(0);
      let a1 = i32x4.splat(0);
      let a2 = i32x4.splat(0);
      let a3 = i32x4.splat(0);
      for (let t = 0; t < taps; t++) {
        const k = kernel + (<usize>t << 2);
        const w = i32x4.splat(load<i32>(weight + k));
        const v = v128.load(src + <usize>(load<i32>(index + k) * row + x));
        const lo = i16x8.extend_low_i8x16_u(v);
        const hi = i16x8.extend_high_i8x16_u(v);
        a0 = i32x4.add(a0, i32x4.mul(i32x4.extend_low_i16x8_u(lo), w));
        a1 = i32x4.add(a1, i32x4.mul(i32x4.extend_high_i16x8_u(lo), w));
        a2 = i32x4.add(a2, i32x4.mul(i32x4.extend_low_i16x8_u(hi), w));
        a3 = i32x4.add(a3, i32x4.mul(i32x4.extend_high_i16x8_u(hi), w));
      }
      // Saturating narrows clip to 0–255, as libvips' cast does.
      const n0 = i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.add(a0, half), 12), i32x4.shr_s(i32x4.add(a1, half), 12));
      const n1 = i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.add(a2, half), 12), i32x4.shr_s(i32x4.add(a3, half), 12));
      v128.store(target + <usize>x, i8x16.narrow_i16x8_u(n0, n1));
    }
    for (; x < row; x++) {
      let sum = 0;
      for (let t = 0; t < taps; t++) {
        const k = kernel + (<usize>t << 2);
        sum += <i32>load<u8>(src + <usize>(load<i32>(index + k) * row + x)) * load<i32>(weight + k);
      }
      const v = (sum + (1 << 11)) >> 12;
      store<u8>(target + <usize>x, v < 0 ? 0 : v > 255 ? 255 : v);
    }
  }
}

/** out = src with rows and columns swapped, a pixel of `channels` bytes kept whole: height×width → width×height. */
export function transposePixels(src: usize, height: i32, width: i32, channels: i32, out: usize): void {
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = src + <usize>((y * width + x) * channels);
      const to = out + <usize>((x * height + y) * channels);
      for (let c = 0; c < channels; c++) store<u8>(to + <usize>c, load<u8>(from + <usize>c));
    }
  }
}

// AssemblyScript (compiled by `npm run build:simd` to conv-relu-max-pool.wasm):
// the inner loops of libs/tf/wasm-kernels/conv-relu-max-pool.ts in 128-bit
// SIMD, over tfjs's own WebAssembly memory (imported), so tensors are
// read and written in place. Pointers are byte offsets; layouts are NHWC.
//
// A convolution stage's output z [n, oh, ow, c] goes through ReLU and 2×2
// max pooling. argmax codes (int32 per pooled value): ky·2 + kx of the
// window's first maximum, plus 4 where that maximum is ≤ 0 (ReLU off, no gradient).

/** pooled[n, oh/2, ow/2, c] and argmax from a = relu(z) [n, oh, ow, c]. */
export function poolWithArgmax(a: usize, pooled: usize, argmax: usize, n: i32, oh: i32, ow: i32, c: i32): void {
  const ph = oh >> 1;
  const pw = ow >> 1;
  const row = <usize>(ow * c) << 2;
  const pix = <usize>c << 2;
  const one = i32x4.splat(1);
  const two = i32x4.splat(2);
  const four = i32x4.splat(4);
  const zero = f32x4.splat(0);
  let o: usize = 0;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < ph; y++) {
      for (let x = 0; x < pw; x++) {
        const corner = a + ((<usize>((b * oh + 2 * y) * ow + 2 * x) * c) << 2);
        let ch = 0;
        for (; ch + 4 <= c; ch += 4) {
          const p = corner + (<usize>ch << 2);
          const v0 = v128.load(p);
          const v1 = v128.load(p + pix);
          const v2 = v128.load(p + row);
          const v3 = v128.load(p + row + pix);
          const s01 = f32x4.gt(v1, v0);
          const s23 = f32x4.gt(v3, v2);
          const m01 = v128.bitselect(v1, v0, s01);
          const m23 = v128.bitselect(v3, v2, s23);
          const s = f32x4.gt(m23, m01);
          const m = v128.bitselect(m23, m01, s);
          const i01 = v128.and(s01, one);
          const i23 = i32x4.add(two, v128.and(s23, one));
          const at = i32x4.add(v128.bitselect(i23, i01, s), v128.and(f32x4.le(m, zero), four));
          v128.store(pooled + ((o + <usize>ch) << 2), m);
          v128.store(argmax + ((o + <usize>ch) << 2), at);
        }
        for (; ch < c; ch++) {
          const p = corner + (<usize>ch << 2);
          const v0 = load<f32>(p);
          const v1 = load<f32>(p + pix);
          const v2 = load<f32>(p + row);
          const v3 = load<f32>(p + row + pix);
          const m01 = v1 > v0 ? v1 : v0;
          const m23 = v3 > v2 ? v3 : v2;
          const i01: i32 = v1 > v0 ? 1 : 0;
          const i23: i32 = v3 > v2 ? 3 : 2;
          const m = m23 > m01 ? m23 : m01;
          store<f32>(pooled + ((o + <usize>ch) << 2), m);
          store<i32>(argmax + ((o + <usize>ch) << 2), (m23 > m01 ? i23 : i01) + (m <= 0 ? 4 : 0));
        }
        o += <usize>c;
      }
    }
  }
}

/** dst[0..len) += g · src[0..len), floats. */
// @ts-ignore: decorator
@inline function axpy(dst: usize, src: usize, g: f32, len: i32): void {
  const gv = f32x4.splat(g);
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const d = dst + (<usize>i << 2);
    v128.store(d, f32x4.add(v128.load(d), f32x4.mul(v128.load(src + (<usize>i << 2)), gv)));
  }
  for (; i < len; i++) {
    const d = dst + (<usize>i << 2);
    store<f32>(d, load<f32>(d) + load<f32>(src + (<usize>i << 2)) * g);
  }
}

// Shapes of a stage, set once per call by setStage (the calls below share them).
let n_: i32, ih_: i32, iw_: i32, ci_: i32, kh_: i32, kw_: i32, co_: i32, stride_: i32, padTop_: i32, padLeft_: i32, ph_: i32, pw_: i32;

/** x [n, ih, iw, ci] convolved by a [kh, kw, ci, co] filter at `stride`, padded by padTop/padLeft, pooled to [n, ph, pw, co]. */
export function setStage(n: i32, ih: i32, iw: i32, ci: i32, kh: i32, kw: i32, co: i32, stride: i32, padTop: i32, padLeft: i32, ph: i32, pw: i32): void {
  n_ = n; ih_ = ih; iw_ = iw; ci_ = ci; kh_ = kh; kw_ = kw; co_ = co; stride_ = stride; padTop_ = padTop; padLeft_ = padLeft; ph_ = ph; pw_ = pw;
}

/** Floats per row of a filter gradient laid out [co, kh, row]: kw·ci rounded up to whole 16-float chunks. */
export function filterRowStride(): i32 {
  return (kw_ * ci_ + 15) & ~15;
}

/** Pooled rows whose windows the filter gradient visits together (their dy and argmax stay in cache). */
const BLOCK_ROWS = 4;

/**
 * Filter gradient as [co, kh, filterRowStride()] (kw·ci values per row, then
 * padding; zeroed by the caller) and bias gradient [co] (zeroed). For each
 * block of pooled rows, output channel, filter row and 16-float chunk of
 * that row, four accumulators stay in registers over the block's windows:
 * dFilter[o, r] += dy · (the input row under filter row r at the window's
 * argmax). Windows clipped by the image's left or right edge, and chunks
 * that would read past the input, are added exactly, one value at a time.
 */
export function filterGradient(dy: usize, argmax: usize, x: usize, dFilter: usize, dBias: usize): void {
  // Locals, not globals, in the loops (V8 reloads a global at every use).
  const n = n_, ih = ih_, iw = iw_, ci = ci_, kh = kh_, kw = kw_, co = co_, stride = stride_, padTop = padTop_, padLeft = padLeft_, ph = ph_, pw = pw_;
  const rowLen = kw * ci;
  const rowStride = filterRowStride();
  const xEnd = x + (<usize>(n * ih * iw * ci) << 2);
  const step = <usize>co << 2;
  for (let b = 0; b < n; b++) {
    for (let py0 = 0; py0 < ph; py0 += BLOCK_ROWS) {
      const py1 = min(ph, py0 + BLOCK_ROWS);
      for (let oc = 0; oc < co; oc++) {
        const first = (<usize>(((b * ph + py0) * pw) * co + oc)) << 2;
        let bias: f32 = 0;
        for (let o = first, w = 0; w < (py1 - py0) * pw; w++, o += step) {
          if (load<i32>(argmax + o) < 4) bias += load<f32>(dy + o);
        }
        store<f32>(dBias + (<usize>oc << 2), load<f32>(dBias + (<usize>oc << 2)) + bias);
        for (let r = 0; r < kh; r++) {
          for (let chunk = 0; chunk < rowStride; chunk += 16) {
            let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
            const out = dFilter + (<usize>((oc * kh + r) * rowStride + chunk) << 2);
            let o = first;
            for (let py = py0; py < py1; py++) {
              for (let px = 0; px < pw; px++, o += step) {
                const at = load<i32>(argmax + o);
                if (at >= 4) continue;
                const g = load<f32>(dy + o);
                const y = (2 * py + (at >> 1)) * stride - padTop + r;
                if (y < 0 || y >= ih) continue;
                const x0 = (2 * px + (at & 1)) * stride - padLeft;
                const row = x + (<usize>((b * ih + y) * iw + x0) * ci << 2) + (<usize>chunk << 2);
                if (x0 >= 0 && x0 + kw <= iw && row + 64 <= xEnd) {
                  const gv = f32x4.splat(g);
                  a0 = f32x4.add(a0, f32x4.mul(v128.load(row), gv));
                  a1 = f32x4.add(a1, f32x4.mul(v128.load(row, 16), gv));
                  a2 = f32x4.add(a2, f32x4.mul(v128.load(row, 32), gv));
                  a3 = f32x4.add(a3, f32x4.mul(v128.load(row, 48), gv));
                } else {
                  // Only the kernel columns inside the image, of this chunk.
                  const from = max(x0 < 0 ? -x0 * ci : 0, chunk);
                  const to = min(x0 + kw > iw ? (iw - x0) * ci : rowLen, chunk + 16);
                  for (let i = from; i < to; i++) {
                    const d = out + (<usize>(i - chunk) << 2);
                    store<f32>(d, load<f32>(d) + g * load<f32>(row + (<usize>(i - chunk) << 2)));
                  }
                }
              }
            }
            v128.store(out, f32x4.add(v128.load(out), a0));
            v128.store(out, f32x4.add(v128.load(out, 16), a1), 16);
            v128.store(out, f32x4.add(v128.load(out, 32), a2), 32);
            v128.store(out, f32x4.add(v128.load(out, 48), a3), 48);
          }
        }
      }
    }
  }
}

/** Input gradient dx [n, ih, iw, ci] (zeroed by the caller) += dy · filter row by row, the filter given as [co, kh, kw, ci]. */
export function inputGradient(dy: usize, argmax: usize, filter: usize, dx: usize): void {
  const n = n_, ih = ih_, iw = iw_, ci = ci_, kh = kh_, kw = kw_, co = co_, stride = stride_, padTop = padTop_, padLeft = padLeft_, ph = ph_, pw = pw_;
  let o: usize = 0;
  for (let b = 0; b < n; b++) {
    for (let py = 0; py < ph; py++) {
      for (let px = 0; px < pw; px++) {
        for (let oc = 0; oc < co; oc++, o++) {
          const at = load<i32>(argmax + (o << 2));
          if (at >= 4) continue;
          const g = load<f32>(dy + (o << 2));
          const y0 = (2 * py + (at >> 1)) * stride - padTop;
          const x0 = (2 * px + (at & 1)) * stride - padLeft;
          const c0 = x0 < 0 ? -x0 : 0;
          const c1 = x0 + kw > iw ? iw - x0 : kw;
          if (c1 <= c0) continue;
          for (let r = 0; r < kh; r++) {
            const y = y0 + r;
            if (y < 0 || y >= ih) continue;
            axpy(dx + ((<usize>((b * ih + y) * iw + x0 + c0) * ci) << 2), filter + ((<usize>((oc * kh + r) * kw + c0) * ci) << 2), g, (c1 - c0) * ci);
          }
        }
      }
    }
  }
}

// AssemblyScript (part of the SIMD module, index.ts): the inner loops of
// libs/tf/wasm-kernels/conv-relu-max-pool.ts.
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

/**
 * Copies x [n, ih, iw, ci] into xp [n, 2·ph + kh − 1, 2·pw + kw − 1, ci]
 * with the stage's padding as zeros: the rows and columns the pooled
 * windows' convolutions read (stride 1), so convPool needs no edge cases.
 */
export function padInput(x: usize, xp: usize): void {
  const n = n_, ih = ih_, iw = iw_, ci = ci_, padTop = padTop_, padLeft = padLeft_;
  const hp = 2 * ph_ + kh_ - 1;
  const wp = 2 * pw_ + kw_ - 1;
  const x0 = max(0, padLeft);
  const x1 = min(wp, iw + padLeft);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < hp; y++) {
      const dst = xp + (<usize>((b * hp + y) * wp * ci) << 2);
      const sy = y - padTop;
      if (sy < 0 || sy >= ih || x1 <= x0) {
        memory.fill(dst, 0, <usize>(wp * ci) << 2);
        continue;
      }
      memory.fill(dst, 0, <usize>(x0 * ci) << 2);
      memory.copy(dst + (<usize>(x0 * ci) << 2), x + (<usize>(((b * ih + sy) * iw + x0 - padLeft) * ci) << 2), <usize>((x1 - x0) * ci) << 2);
      memory.fill(dst + (<usize>(x1 * ci) << 2), 0, <usize>((wp - x1) * ci) << 2);
    }
  }
}

/**
 * The stage's forward at stride 1 without the full-resolution activation:
 * for each pooled window, the four convolution outputs under it are
 * accumulated in registers (8 or 4 output channels at a time, one input
 * value broadcast per position and filter tap), then pooled, biased,
 * ReLU'd and stored with their argmax codes (as poolWithArgmax; the bias is
 * added after the maximum, which it does not change). xp is padInput's
 * copy; filter [kh, kw, ci, co] with co a multiple of 4.
 */
export function convPool(xp: usize, filter: usize, bias: usize, pooled: usize, argmax: usize): void {
  const n = n_, ci = ci_, kh = kh_, kw = kw_, co = co_, ph = ph_, pw = pw_;
  const wp = 2 * pw + kw - 1;
  const hp = 2 * ph + kh - 1;
  const rowLen = kw * ci;
  const imageRow = <usize>(wp * ci) << 2;
  const pixel = <usize>ci << 2;
  const tap = <usize>co << 2;
  let o: usize = 0;
  for (let b = 0; b < n; b++) {
    for (let py = 0; py < ph; py++) {
      for (let px = 0; px < pw; px++) {
        const corner = xp + (<usize>(((b * hp + 2 * py) * wp + 2 * px) * ci) << 2);
        let c = 0;
        for (; c + 8 <= co; c += 8) {
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
          let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
          for (let r = 0; r < kh; r++) {
            let top = corner + <usize>r * imageRow;
            let w = filter + ((<usize>(r * rowLen) * co + <usize>c) << 2);
            for (let j = 0; j < rowLen; j++, top += 4, w += tap) {
              const w0 = v128.load(w);
              const w1 = v128.load(w, 16);
              const s0 = v128.load32_splat(top);
              const s1 = v128.load32_splat(top + pixel);
              const s2 = v128.load32_splat(top + imageRow);
              const s3 = v128.load32_splat(top + imageRow + pixel);
              a0 = f32x4.add(a0, f32x4.mul(s0, w0)); b0 = f32x4.add(b0, f32x4.mul(s0, w1));
              a1 = f32x4.add(a1, f32x4.mul(s1, w0)); b1 = f32x4.add(b1, f32x4.mul(s1, w1));
              a2 = f32x4.add(a2, f32x4.mul(s2, w0)); b2 = f32x4.add(b2, f32x4.mul(s2, w1));
              a3 = f32x4.add(a3, f32x4.mul(s3, w0)); b3 = f32x4.add(b3, f32x4.mul(s3, w1));
            }
          }
          const at = (o + <usize>c) << 2;
          poolStore(a0, a1, a2, a3, v128.load(bias + (<usize>c << 2)), pooled + at, argmax + at);
          poolStore(b0, b1, b2, b3, v128.load(bias + (<usize>c << 2), 16), pooled + at + 16, argmax + at + 16);
        }
        if (c < co) {
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
          for (let r = 0; r < kh; r++) {
            let top = corner + <usize>r * imageRow;
            let w = filter + ((<usize>(r * rowLen) * co + <usize>c) << 2);
            for (let j = 0; j < rowLen; j++, top += 4, w += tap) {
              const w0 = v128.load(w);
              a0 = f32x4.add(a0, f32x4.mul(v128.load32_splat(top), w0));
              a1 = f32x4.add(a1, f32x4.mul(v128.load32_splat(top + pixel), w0));
              a2 = f32x4.add(a2, f32x4.mul(v128.load32_splat(top + imageRow), w0));
              a3 = f32x4.add(a3, f32x4.mul(v128.load32_splat(top + imageRow + pixel), w0));
            }
          }
          const at = (o + <usize>c) << 2;
          poolStore(a0, a1, a2, a3, v128.load(bias + (<usize>c << 2)), pooled + at, argmax + at);
        }
        o += <usize>co;
      }
    }
  }
}

/** Pools a window's four outputs z0…z3 (order ky·2 + kx), adds the bias, applies ReLU and stores value and argmax code. */
// @ts-ignore: decorator
@inline function poolStore(z0: v128, z1: v128, z2: v128, z3: v128, bias: v128, pooled: usize, argmax: usize): void {
  const s01 = f32x4.gt(z1, z0);
  const s23 = f32x4.gt(z3, z2);
  const m01 = v128.bitselect(z1, z0, s01);
  const m23 = v128.bitselect(z3, z2, s23);
  const s = f32x4.gt(m23, m01);
  const m = f32x4.add(v128.bitselect(m23, m01, s), bias);
  const off = f32x4.le(m, f32x4.splat(0));
  const i01 = v128.and(s01, i32x4.splat(1));
  const i23 = i32x4.add(i32x4.splat(2), v128.and(s23, i32x4.splat(1)));
  v128.store(pooled, v128.andnot(m, off));
  v128.store(argmax, i32x4.add(v128.bitselect(i23, i01, s), v128.and(off, i32x4.splat(4))));
}

/** Floats per chunk of a filter-gradient row: 3 vectors for rows of up to 12 floats (a 3×3 filter on 3 or 4 channels), else 4. */
function chunkFloats(): i32 {
  return kw_ * ci_ <= 12 ? 12 : 16;
}

/** Floats per row of a filter gradient laid out [co, kh, row]: kw·ci rounded up to whole chunks. */
export function filterRowStride(): i32 {
  const chunk = chunkFloats();
  return (kw_ * ci_ + chunk - 1) / chunk * chunk;
}

/** Pooled rows whose windows the filter gradient visits together (their dy and argmax stay in cache). */
const BLOCK_ROWS = 4;

/**
 * Filter gradient as [co, kh, filterRowStride()] (kw·ci values per row, then
 * padding; zeroed by the caller) and bias gradient [co] (zeroed):
 * dFilter[o, r] += dy · (the input row under filter row r at the window's
 * argmax), over the active windows.
 */
export function filterGradient(dy: usize, argmax: usize, x: usize, dFilter: usize, dBias: usize): void {
  if (chunkFloats() == 12) filterGradientIn(dy, argmax, x, dFilter, dBias, 3);
  else filterGradientIn(dy, argmax, x, dFilter, dBias, 4);
}

/**
 * For each block of pooled rows, output channel, group of three filter rows
 * and chunk of `vectors` 4-float vectors of those rows, 3·vectors
 * accumulators stay in registers over the block's windows. Windows clipped
 * by the image's edges, and those whose chunk would read past the input,
 * are added exactly, one value at a time.
 */
// @ts-ignore: decorator
@inline function filterGradientIn(dy: usize, argmax: usize, x: usize, dFilter: usize, dBias: usize, vectors: i32): void {
  // Locals, not globals, in the loops (V8 reloads a global at every use).
  const n = n_, ih = ih_, iw = iw_, ci = ci_, kh = kh_, kw = kw_, co = co_, stride = stride_, padTop = padTop_, padLeft = padLeft_, ph = ph_, pw = pw_;
  const rowLen = kw * ci;
  const rowStride = filterRowStride();
  const chunkLen = vectors * 4;
  const xEnd = x + (<usize>(n * ih * iw * ci) << 2);
  const imageRow = <usize>(iw * ci) << 2;
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
        for (let r0 = 0; r0 < kh; r0 += 3) {
          const rows = min(3, kh - r0);
          for (let chunk = 0; chunk < rowStride; chunk += chunkLen) {
            let a00 = f32x4.splat(0), a01 = f32x4.splat(0), a02 = f32x4.splat(0), a03 = f32x4.splat(0);
            let a10 = f32x4.splat(0), a11 = f32x4.splat(0), a12 = f32x4.splat(0), a13 = f32x4.splat(0);
            let a20 = f32x4.splat(0), a21 = f32x4.splat(0), a22 = f32x4.splat(0), a23 = f32x4.splat(0);
            const out = dFilter + (<usize>((oc * kh + r0) * rowStride + chunk) << 2);
            let o = first;
            for (let py = py0; py < py1; py++) {
              for (let px = 0; px < pw; px++, o += step) {
                const at = load<i32>(argmax + o);
                if (at >= 4) continue;
                const g = load<f32>(dy + o);
                const y0 = (2 * py + (at >> 1)) * stride - padTop + r0;
                const x0 = (2 * px + (at & 1)) * stride - padLeft;
                const row = x + (<usize>((b * ih + y0) * iw + x0) * ci << 2) + (<usize>chunk << 2);
                if (rows == 3 && y0 >= 0 && y0 + 3 <= ih && x0 >= 0 && x0 + kw <= iw && row + 2 * imageRow + (<usize>chunkLen << 2) <= xEnd) {
                  const gv = f32x4.splat(g);
                  const row1 = row + imageRow;
                  const row2 = row1 + imageRow;
                  a00 = f32x4.add(a00, f32x4.mul(v128.load(row), gv));
                  a01 = f32x4.add(a01, f32x4.mul(v128.load(row, 16), gv));
                  a02 = f32x4.add(a02, f32x4.mul(v128.load(row, 32), gv));
                  a10 = f32x4.add(a10, f32x4.mul(v128.load(row1), gv));
                  a11 = f32x4.add(a11, f32x4.mul(v128.load(row1, 16), gv));
                  a12 = f32x4.add(a12, f32x4.mul(v128.load(row1, 32), gv));
                  a20 = f32x4.add(a20, f32x4.mul(v128.load(row2), gv));
                  a21 = f32x4.add(a21, f32x4.mul(v128.load(row2, 16), gv));
                  a22 = f32x4.add(a22, f32x4.mul(v128.load(row2, 32), gv));
                  if (vectors == 4) {
                    a03 = f32x4.add(a03, f32x4.mul(v128.load(row, 48), gv));
                    a13 = f32x4.add(a13, f32x4.mul(v128.load(row1, 48), gv));
                    a23 = f32x4.add(a23, f32x4.mul(v128.load(row2, 48), gv));
                  }
                } else {
                  // Only the rows and kernel columns inside the image, of this chunk.
                  const from = max(x0 < 0 ? -x0 * ci : 0, chunk);
                  const to = min(x0 + kw > iw ? (iw - x0) * ci : rowLen, chunk + chunkLen);
                  for (let j = 0; j < rows; j++) {
                    const y = y0 + j;
                    if (y < 0 || y >= ih) continue;
                    const src = row + <usize>j * imageRow;
                    const dst = out + (<usize>(j * rowStride) << 2);
                    for (let i = from; i < to; i++) {
                      const d = dst + (<usize>(i - chunk) << 2);
                      store<f32>(d, load<f32>(d) + g * load<f32>(src + (<usize>(i - chunk) << 2)));
                    }
                  }
                }
              }
            }
            addRow(out, a00, a01, a02, a03, vectors);
            if (rows > 1) addRow(out + (<usize>rowStride << 2), a10, a11, a12, a13, vectors);
            if (rows > 2) addRow(out + (<usize>(2 * rowStride) << 2), a20, a21, a22, a23, vectors);
          }
        }
      }
    }
  }
}

/** out[0..4·vectors) += the accumulators. */
// @ts-ignore: decorator
@inline function addRow(out: usize, a0: v128, a1: v128, a2: v128, a3: v128, vectors: i32): void {
  v128.store(out, f32x4.add(v128.load(out), a0));
  v128.store(out, f32x4.add(v128.load(out, 16), a1), 16);
  v128.store(out, f32x4.add(v128.load(out, 32), a2), 32);
  if (vectors == 4) v128.store(out, f32x4.add(v128.load(out, 48), a3), 48);
}

/**
 * Input gradient dx [n, ih, iw, ci] (zeroed by the caller) += dy · filter
 * row by row, the filter given as [co, kh, kw, ci]. Along a pooled row, the
 * windows are visited even ones first, then odd ones, channel by channel:
 * consecutive updates then never overlap (windows two apart are 4 input
 * columns apart), so none waits for the store before it.
 */
export function inputGradient(dy: usize, argmax: usize, filter: usize, dx: usize): void {
  const n = n_, ih = ih_, iw = iw_, ci = ci_, kh = kh_, kw = kw_, co = co_, stride = stride_, padTop = padTop_, padLeft = padLeft_, ph = ph_, pw = pw_;
  for (let b = 0; b < n; b++) {
    for (let py = 0; py < ph; py++) {
      for (let parity = 0; parity < 2; parity++) {
        for (let oc = 0; oc < co; oc++) {
          for (let px = parity; px < pw; px += 2) {
            const o = <usize>(((b * ph + py) * pw + px) * co + oc) << 2;
            const at = load<i32>(argmax + o);
            if (at >= 4) continue;
            const g = load<f32>(dy + o);
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
}

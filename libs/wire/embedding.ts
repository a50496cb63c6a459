/**
 * Image embeddings on the wire and in the store: IEEE-754 half precision
 * (float16), little-endian, 2 bytes a value. Half of float32's bytes, and far
 * more precision than distances between feature vectors need (3 significant
 * digits). Node 20 has no Float16Array, so the conversion is done here:
 * float32 → float16 rounds to nearest even; magnitudes beyond float16's
 * largest finite value (65504) saturate to it; NaN and infinities are refused
 * (a distance to them means nothing).
 */
import { invalidField } from '../errors.js';
import type { Embedding } from '../gen/aide/v1/common.js';

/** Largest finite float16. */
const HALF_MAX = 65504;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float16 bits of a finite number (saturating beyond ±65504). */
export function toHalfBits(value: number): number {
  f32[0] = Math.max(-HALF_MAX, Math.min(HALF_MAX, value));
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent < 102) return sign; // at most half the smallest subnormal (2⁻²⁵): ±0
  if (exponent < 113) {
    // Subnormal half: shift the mantissa (with its implicit 1) into place, rounding to nearest even.
    mantissa |= 0x800000;
    const shift = 126 - exponent;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (half + (rest > midpoint || (rest === midpoint && (half & 1)) ? 1 : 0));
  }
  const bits = ((exponent - 112) << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // Rounding may carry into the exponent, which is the correctly rounded result (never past 65504: saturated above).
  return sign | (bits + (rest > 0x1000 || (rest === 0x1000 && (bits & 1)) ? 1 : 0));
}

/** The number float16 bits stand for. */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >>> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** An embedding as float16 bytes; `field` names it when a value is not finite. */
export function encodeEmbedding(values: ArrayLike<number>, field = 'embedding'): Embedding {
  const bytes = Buffer.alloc(values.length * 2);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v)) throw invalidField(field, `value ${i} is ${v}: embeddings must be finite`);
    bytes.writeUInt16LE(toHalfBits(v), i * 2);
  }
  return { dim: values.length, float16: bytes };
}

/** Throws INVALID_ARGUMENT naming `field` unless the bytes hold exactly `dim` values. */
export function checkEmbedding(e: Embedding, field = 'embedding'): void {
  if (e.float16.length !== e.dim * 2) throw invalidField(`${field}.float16`, `has ${e.float16.length} bytes, expected 2 × dim (${e.dim})`);
}

/** float16 bytes → values, written into `out` at `offset` (a ranker's pool matrix) or a new array. */
export function decodeEmbedding(e: Embedding, field = 'embedding', out?: Float32Array, offset = 0): Float32Array {
  checkEmbedding(e, field);
  const target = out ?? new Float32Array(e.dim);
  const view = new DataView(e.float16.buffer, e.float16.byteOffset, e.float16.byteLength);
  for (let i = 0; i < e.dim; i++) target[offset + i] = fromHalfBits(view.getUint16(i * 2, true));
  return target;
}

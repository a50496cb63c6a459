import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAideError } from '../../libs/errors.js';
import { checkEmbedding, decodeEmbedding, encodeEmbedding, fromHalfBits, toHalfBits } from '../../libs/wire/embedding.js';

test('float16: exact values, rounding to nearest even, subnormals, saturation', () => {
  for (const [value, bits] of [[0, 0x0000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff], [2 ** -24, 0x0001], [2 ** -14, 0x0400]] as const) {
    assert.equal(toHalfBits(value), bits, `${value}`);
    assert.equal(fromHalfBits(bits), value);
  }
  assert.equal(toHalfBits(1 + 2 ** -11), 0x3c00, 'a tie rounds to the even mantissa');
  assert.equal(toHalfBits(1 + 3 * 2 ** -11), 0x3c02, 'a tie rounds to the even mantissa, up');
  assert.equal(toHalfBits(2 ** -25), 0x0000, 'half the smallest subnormal rounds to even (0)');
  assert.equal(toHalfBits(1.5 * 2 ** -25), 0x0001);
  assert.equal(toHalfBits(1e6), 0x7bff, 'saturates at 65504');
  assert.equal(toHalfBits(-1e6), 0xfbff);
  // Every float16 value survives the round trip.
  for (let h = 0; h < 0x7c00; h++) assert.equal(toHalfBits(fromHalfBits(h)), h);
});

test('embeddings: float16 bytes of dim values, refused when not finite or not matching dim', () => {
  const values = Float32Array.from([0.1, -3.25, 1000, 0]);
  const e = encodeEmbedding(values);
  assert.equal(e.dim, 4);
  assert.equal(e.float16.length, 8);
  decodeEmbedding(e).forEach((v, i) => assert.ok(Math.abs(v - values[i]!) <= Math.abs(values[i]!) * 2 ** -11, `${v} vs ${values[i]}`));
  assert.throws(() => encodeEmbedding([1, NaN], 'predictions[x].embedding'), (err: unknown) => isAideError(err, 'INVALID_ARGUMENT') && /predictions\[x\]\.embedding/.test(err.message));
  assert.throws(() => checkEmbedding({ dim: 3, float16: Buffer.alloc(4) }), (err: unknown) => isAideError(err, 'INVALID_ARGUMENT') && /float16/.test(err.message));
});

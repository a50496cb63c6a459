import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { checkedPieces } from '../../libs/blob/index.js';
import { isAideError } from '../../libs/errors.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest();
async function* from(...pieces: Buffer[]): AsyncGenerator<Buffer> { yield* pieces; }
const opts = (size: number, expected: Buffer | undefined) => ({ size, expected: () => expected, what: 'the bytes', digest: 'their SHA-256' });

test('checkedPieces: exact bytes pass with their digest; the last piece waits for the checks', async () => {
  const [a, b] = [Buffer.from('abc'), Buffer.from('defg')];
  const whole = Buffer.concat([a, b]);
  const seen: string[] = [];
  const pieces = checkedPieces(from(a, b), opts(7, sha(whole)));
  for await (const p of pieces) seen.push(String(p));
  assert.deepEqual(seen, ['abc', 'defg']);
  assert.deepEqual(pieces.sha256, sha(whole));

  for (const [name, source, size, expected, message] of [
    ['a wrong digest', from(a, b), 7, sha(a), /does not match their SHA-256/],
    ['no digest', from(a, b), 7, undefined, /came without their SHA-256/],
    ['too short', from(a), 7, sha(whole), /ended after 3 of 7 bytes/],
    ['too long', from(a, b), 5, sha(whole), /more than the 5 bytes/],
  ] as const) {
    const got: string[] = [];
    const bad = checkedPieces(source, opts(size, expected));
    await assert.rejects(async () => { for await (const p of bad) got.push(String(p)); }, (e: unknown) => isAideError(e, 'DATA_LOSS') && message.test((e as Error).message), name);
    assert.ok(!got.includes('defg'), `${name}: the last piece never passes`);
    assert.equal(bad.sha256, undefined, name);
  }
});

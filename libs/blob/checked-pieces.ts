import { createHash } from 'node:crypto';
import { dataLoss } from '../errors.js';
import type { VerifiedPieces } from './assembler.js';

/**
 * Raw pieces (a file, an HTTP body) checked as they pass: DATA_LOSS as soon
 * as they hold more than `size` bytes, and at their end unless they held
 * exactly `size` and hash to the SHA-256 `expected()` gives then (read at the
 * end, so it may arrive after the bytes: a trailer). The last piece is held
 * back until both checked out, so a reader that sees the iteration end has
 * seen exactly the bytes meant; `sha256` holds the digest from then on.
 * `what` names the bytes and `digest` their SHA-256 in the messages.
 */
export function checkedPieces(
  source: AsyncIterable<Buffer>, opts: { size: number; expected: () => Uint8Array | undefined; what: string; digest: string },
): VerifiedPieces {
  const out = { sha256: undefined as Buffer | undefined, [Symbol.asyncIterator]: () => pieces() };
  async function* pieces(): AsyncGenerator<Buffer> {
    const hash = createHash('sha256');
    let got = 0;
    let held: Buffer | undefined;
    for await (const piece of source) {
      got += piece.byteLength;
      if (got > opts.size) throw dataLoss(`${opts.what} holds more than the ${opts.size} bytes announced`);
      hash.update(piece);
      if (held) yield held;
      held = piece;
    }
    if (got !== opts.size) throw dataLoss(`${opts.what} ended after ${got} of ${opts.size} bytes`);
    const expected = opts.expected();
    if (expected === undefined) throw dataLoss(`${opts.what} came without ${opts.digest}`);
    const digest = hash.digest();
    if (!digest.equals(expected)) throw dataLoss(`${opts.what} does not match ${opts.digest}`);
    out.sha256 = digest;
    if (held) yield held;
  }
  return out;
}

/**
 * A look at the first bytes of a blob as it streams, without holding more of
 * it: the pieces that make up the head are kept and passed on again, then the
 * rest follows from the same iterator.
 */

export interface Peeked {
  /** The blob's first min(blob size, `bytes`) bytes. */
  head: Buffer;
  /** Every piece, the held ones first; iterate it once. */
  all: AsyncIterable<Buffer>;
}

/**
 * Reads `source` until `bytes` bytes (or all of it, if shorter) have passed.
 * Memory: the head plus at most one piece. An error of the source while the
 * head is read rejects here; later ones surface from `all`.
 */
export async function peekHead(source: AsyncIterable<Buffer>, bytes: number): Promise<Peeked> {
  const it = source[Symbol.asyncIterator]();
  const held: Buffer[] = [];
  let have = 0;
  let done = false;
  while (have < bytes) {
    const r = await it.next();
    if (r.done) { done = true; break; }
    held.push(r.value);
    have += r.value.byteLength;
  }
  const whole = held.length === 1 ? held[0]! : Buffer.concat(held);
  async function* all(): AsyncGenerator<Buffer> {
    yield* held.splice(0);
    if (done) return;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  return { head: whole.subarray(0, Math.min(bytes, whole.byteLength)), all: all() };
}

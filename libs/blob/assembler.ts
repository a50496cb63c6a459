import { createHash } from 'node:crypto';
import { AideError, cancelled, dataLoss, invalidArgument, resourceExhausted } from '../errors.js';
import type { BlobChunk } from '../gen/aide/v1/common.js';

export interface VerifyOptions {
  /** Largest acceptable totalSize; a bigger blob fails with RESOURCE_EXHAUSTED at its first chunk. */
  maxSize: number;
  /** Stops the transfer, even while waiting for the next chunk: CANCELLED (DEADLINE_EXCEEDED for a timeout). */
  signal?: AbortSignal;
}

/** One verified piece of a blob. */
interface Piece {
  data: Buffer;
  offset: number;
  totalSize: number;
  /** On the last piece: the SHA-256 the blob was checked against. */
  sha256?: Buffer;
}

/**
 * A blob's verified pieces. `sha256` is the digest they were checked against
 * once the iteration has ended without an error (undefined before): a store
 * keeps it instead of hashing the bytes a second time.
 */
export interface VerifiedPieces extends AsyncIterable<Buffer> {
  readonly sha256: Buffer | undefined;
}

const SHA256_BYTES = 32;

function abortError(signal: AbortSignal): AideError {
  const reason: unknown = signal.reason;
  if (reason instanceof AideError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new AideError('DEADLINE_EXCEEDED', `blob transfer timed out: ${reason.message}`);
  }
  const detail = reason instanceof Error ? reason.message : reason === undefined ? '' : String(reason);
  return cancelled(detail ? `blob transfer aborted: ${detail}` : 'blob transfer aborted');
}

/** it.next(), or a rejection as soon as the signal aborts (the pending next() is abandoned). */
function nextOrAbort<T>(it: AsyncIterator<T>, signal: AbortSignal | undefined): Promise<IteratorResult<T>> {
  if (!signal) return it.next();
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    it.next().then(
      (r) => { signal.removeEventListener('abort', onAbort); resolve(r); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

/**
 * The checks shared by verifyChunks and collectBlob. Reads chunks one at a time
 * and yields each piece once it is checked; the last piece only after the hash
 * matched. Never reads past the blob's last chunk, and never closes the source
 * (no return() on its iterator), whatever the outcome: the stream belongs to its
 * owner. For a grpc-js server call, return() would destroy the Duplex, after
 * which the handler's error status could no longer be sent.
 */
async function* verified(chunks: AsyncIterable<BlobChunk>, opts: VerifyOptions): AsyncGenerator<Piece> {
  const { maxSize, signal } = opts;
  if (!Number.isSafeInteger(maxSize) || maxSize < 0) {
    throw invalidArgument([{ field: 'maxSize', description: `must be a non-negative integer, got ${maxSize}` }]);
  }
  const it = chunks[Symbol.asyncIterator]();
  const hash = createHash('sha256');
  let totalSize = -1;
  let offset = 0;
  for (;;) {
    const r = await nextOrAbort(it, signal);
    if (r.done) {
      throw dataLoss(totalSize < 0
        ? 'blob stream ended before its first chunk'
        : `blob stream ended after ${offset} of ${totalSize} bytes`);
    }
    const c = r.value;
    if (totalSize < 0) {
      if (!Number.isSafeInteger(c.totalSize) || c.totalSize < 0) throw dataLoss(`blob chunk with invalid totalSize ${c.totalSize}`);
      if (c.totalSize > maxSize) {
        throw resourceExhausted(`blob of ${c.totalSize} bytes exceeds the limit of ${maxSize} bytes`);
      }
      totalSize = c.totalSize;
    } else if (c.totalSize !== totalSize) {
      throw dataLoss(`blob chunk at offset ${c.offset} says totalSize ${c.totalSize}, earlier chunks said ${totalSize}`);
    }
    if (c.offset !== offset) throw dataLoss(`blob chunk at offset ${c.offset}, expected offset ${offset}`);
    const raw: Uint8Array = c.data ?? Buffer.alloc(0); // hand-made chunks may hold a plain Uint8Array
    const data = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const end = offset + data.byteLength;
    if (end > totalSize) throw dataLoss(`blob chunk at offset ${offset} of ${data.byteLength} bytes runs past totalSize ${totalSize}`);
    const sha: Uint8Array = c.sha256 ?? Buffer.alloc(0);
    hash.update(data);
    const piece: Piece = { data, offset, totalSize };
    offset = end;
    if (end < totalSize) {
      if (sha.byteLength !== 0) throw dataLoss(`blob chunk at offset ${piece.offset} carries a sha256 but is not the last`);
      yield piece;
      continue;
    }
    if (sha.byteLength !== SHA256_BYTES) {
      throw dataLoss(sha.byteLength === 0 ? 'last blob chunk lacks the sha256' : `last blob chunk has a sha256 of ${sha.byteLength} bytes`);
    }
    if (!hash.digest().equals(sha)) throw dataLoss(`blob of ${totalSize} bytes fails its sha256 check`);
    yield { ...piece, sha256: Buffer.from(sha) };
    return;
  }
}

/**
 * Checks a chunk stream while passing its data through: offsets contiguous,
 * totalSize the same on every chunk and ≤ maxSize (RESOURCE_EXHAUSTED at the
 * first chunk, before any data is accepted), data summing to totalSize and the
 * last chunk's sha256 matching (DATA_LOSS otherwise, also when the stream ends
 * early). Yields the chunks' data as they pass (no copies); the data are only
 * trustworthy once the iteration completes without error: the last piece is
 * yielded after the hash check, so a consumer that sees the iteration end
 * normally has seen exactly the sent bytes.
 *
 * Reads no further than the last chunk of the blob (see StreamParts for streams
 * carrying more after it) and never closes the source, not even on an error or
 * an abort: ending the stream is its owner's business.
 */
export async function* verifyChunks(chunks: AsyncIterable<BlobChunk>, opts: VerifyOptions): AsyncGenerator<Buffer> {
  for await (const piece of verified(chunks, opts)) yield piece.data;
}

/**
 * verifyChunks for a blob whose size was announced beforehand (a header, a
 * result): DATA_LOSS at the first chunk unless the blob is of exactly `size`
 * bytes, so a consumer never stores a blob shorter or longer than announced.
 */
export function verifyAnnouncedChunks(chunks: AsyncIterable<BlobChunk>, opts: { size: number; signal?: AbortSignal; what?: string }): VerifiedPieces {
  const out = { sha256: undefined as Buffer | undefined, [Symbol.asyncIterator]: () => pieces() };
  async function* pieces(): AsyncGenerator<Buffer> {
    let first = true;
    for await (const { data, totalSize, sha256 } of verified(chunks, { maxSize: Number.MAX_SAFE_INTEGER, signal: opts.signal })) {
      if (first && totalSize !== opts.size) throw dataLoss(`${opts.what ?? 'the announcement'} said ${opts.size} bytes, the chunks hold ${totalSize}`);
      first = false;
      out.sha256 = sha256;
      yield data;
    }
  }
  return out;
}

/**
 * Reassembles a chunk stream into one Buffer of totalSize, allocated once at the
 * first (size-checked) chunk, so memory holds one copy of the blob, not its
 * chunks plus a concatenation. Same checks as verifyChunks.
 */
export async function collectBlob(chunks: AsyncIterable<BlobChunk>, opts: VerifyOptions): Promise<Buffer> {
  let out: Buffer | undefined;
  for await (const { data, offset, totalSize } of verified(chunks, opts)) {
    out ??= Buffer.allocUnsafe(totalSize);
    data.copy(out, offset);
  }
  if (!out) throw dataLoss('blob stream ended before its first chunk'); // unreachable: verified() throws first
  return out;
}

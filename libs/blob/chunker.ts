import { createHash } from 'node:crypto';
import { invalidArgument } from '../errors.js';
import type { BlobChunk } from '../gen/aide/v1/common.js';
import { MAX_MESSAGE_BYTES } from '../grpc/limits.js';

/** Default payload bytes per chunk: 1 MiB. */
export const DEFAULT_CHUNK_SIZE = 1 << 20;


/**
 * Largest allowed chunkSize: leaves room for the chunk's other fields (≤ 62 bytes)
 * and for the oneof / StatePart wrappers a chunk travels in, so that every
 * message carrying a chunk stays within MAX_MESSAGE_BYTES.
 */
export const MAX_CHUNK_SIZE = MAX_MESSAGE_BYTES - 64 * 1024;

export interface ToChunksOptions {
  /** Bytes in the whole payload: required for a streamed source, checked against a single buffer. */
  totalSize?: number;
  /** Payload bytes per chunk (the last one may be shorter); default DEFAULT_CHUNK_SIZE, at most MAX_CHUNK_SIZE. */
  chunkSize?: number;
  /**
   * The payload's SHA-256 where it is known already (a stored blob's, checked when it was stored): the last
   * chunk carries it and the bytes are not hashed again. The receiver's check then covers the storage too.
   */
  sha256?: Uint8Array;
}

/** A Buffer view of bytes [start, end) of `u8`, sharing its memory (no copy). */
function view(u8: Uint8Array, start = 0, end = u8.byteLength): Buffer {
  return Buffer.from(u8.buffer, u8.byteOffset + start, end - start);
}

const isBytes = (x: unknown): x is Uint8Array => x instanceof Uint8Array;

/**
 * Splits a payload into BlobChunks of `chunkSize` bytes (the last may be shorter),
 * hashing incrementally; the last chunk carries the SHA-256 of the whole payload.
 * A zero-size payload is one chunk with empty data, totalSize 0 and the hash of "".
 *
 * `source` is one buffer, or a (sync or async) iterable of buffers of any sizes
 * whose total must be given as `opts.totalSize` (every chunk carries it). The
 * whole payload is never copied: chunk data are views of the source's buffers
 * wherever a chunk lies inside one source piece; only chunks straddling small
 * pieces are assembled in a fresh buffer. The source's buffers must therefore
 * not be modified after they are handed over.
 *
 * A streamed source that yields more or fewer bytes than totalSize fails with
 * INVALID_ARGUMENT — more: before any chunk past totalSize is produced; fewer:
 * before the last chunk (with the hash) is produced, so a receiver sees a
 * truncated, never a falsely complete, blob.
 */
export async function* toChunks(
  source: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  opts: ToChunksOptions = {},
): AsyncGenerator<BlobChunk> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0 || chunkSize > MAX_CHUNK_SIZE) {
    throw invalidArgument([{ field: 'chunkSize', description: `must be an integer in [1, ${MAX_CHUNK_SIZE}], got ${chunkSize}` }]);
  }
  const single = isBytes(source);
  const totalSize = single ? source.byteLength : opts.totalSize;
  if (totalSize === undefined) {
    throw invalidArgument([{ field: 'totalSize', description: 'required when the source is a stream of buffers' }]);
  }
  if (!Number.isSafeInteger(totalSize) || totalSize < 0) {
    throw invalidArgument([{ field: 'totalSize', description: `must be a non-negative integer, got ${totalSize}` }]);
  }
  if (single && opts.totalSize !== undefined && opts.totalSize !== totalSize) {
    throw invalidArgument([{ field: 'totalSize', description: `is ${opts.totalSize} but the buffer holds ${totalSize} bytes` }]);
  }

  if (opts.sha256 !== undefined && opts.sha256.byteLength !== 32) {
    throw invalidArgument([{ field: 'sha256', description: `must be 32 bytes, got ${opts.sha256.byteLength}` }]);
  }
  const known = opts.sha256;
  const hash = known ? undefined : createHash('sha256');
  let offset = 0;
  /** The next chunk, hashed; with the digest if it completes the payload. */
  const chunk = (data: Buffer): BlobChunk => {
    hash?.update(data);
    const c: BlobChunk = { offset, totalSize, data, sha256: Buffer.alloc(0) };
    offset += data.byteLength;
    if (offset === totalSize) c.sha256 = known ? Buffer.from(known.buffer, known.byteOffset, known.byteLength) : hash!.digest();
    return c;
  };

  if (single) {
    if (totalSize === 0) { yield chunk(Buffer.alloc(0)); return; }
    for (let start = 0; start < totalSize; start += chunkSize) {
      yield chunk(view(source, start, Math.min(start + chunkSize, totalSize)));
    }
    return;
  }

  // Streamed source. `pending` collects bytes of a chunk that straddles pieces.
  let pending: Buffer | undefined;
  let pendingLength = 0;
  let received = 0;
  /** The final chunk is held back until the source has ended with exactly totalSize bytes. */
  let last: Buffer | undefined = totalSize === 0 ? Buffer.alloc(0) : undefined;
  const tooMany = () => invalidArgument([{ field: 'totalSize', description: `the source yields more than the declared ${totalSize} bytes` }]);

  for await (const piece of source as AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    if (!isBytes(piece)) throw invalidArgument('blob source yielded a non-buffer value');
    if (piece.byteLength === 0) continue;
    if (received + piece.byteLength > totalSize) throw tooMany();
    received += piece.byteLength;
    let at = 0;
    while (at < piece.byteLength) {
      const want = Math.min(chunkSize, totalSize - offset); // size of the next chunk
      let data: Buffer;
      if (pendingLength === 0 && piece.byteLength - at >= want) {
        data = view(piece, at, at + want); // whole chunk inside this piece: no copy
        at += want;
      } else {
        pending ??= Buffer.allocUnsafe(want);
        const n = Math.min(want - pendingLength, piece.byteLength - at);
        pending.set(piece.subarray(at, at + n), pendingLength);
        pendingLength += n;
        at += n;
        if (pendingLength < pending.byteLength) continue;
        data = pending;
        pending = undefined;
        pendingLength = 0;
      }
      if (offset + data.byteLength === totalSize) { last = data; break; }
      yield chunk(data);
    }
  }
  if (last === undefined) {
    throw invalidArgument([{ field: 'totalSize', description: `the source ended after ${received} of the declared ${totalSize} bytes` }]);
  }
  yield chunk(last);
}

import type { FileHandle } from 'node:fs/promises';

/** Bytes queued behind the write in flight before the caller waits: bounds memory, leaves the disk work to batch. */
const QUEUE_BYTES = 8 << 20;

/**
 * Writes a file behind its producer: a piece is queued and the producer goes
 * on (receiving, hashing) while the pieces before it are written, the queued
 * ones gathered into one writev — no copy — as soon as the write in flight is
 * done. Waiting one write per piece made the producer and the disk take turns:
 * small pieces (an HTTP/2 frame's 16 KiB) cost a thread-pool round trip each.
 * The producer waits only once QUEUE_BYTES are queued. With `syncEvery`, the
 * file goes to disk in the background every that many bytes, so the final
 * flush is short. Pieces must not change once pushed.
 */
export class QueuedFileWriter {
  #queue: Uint8Array[] = [];
  #queued = 0;
  #writing: Promise<void> | undefined;
  #syncing: Promise<void> | undefined;
  #unsynced = 0;
  #failure: { err: unknown } | undefined;

  constructor(private readonly fh: FileHandle, private readonly opts: { syncEvery?: number } = {}) {}

  /** Queues a piece; resolves once the queue has room (rejects once a write failed). */
  async push(piece: Uint8Array): Promise<void> {
    this.#throwIfFailed();
    this.#queue.push(piece);
    this.#queued += piece.byteLength;
    this.#start();
    while (this.#queued >= QUEUE_BYTES && this.#writing) await this.#writing;
    this.#throwIfFailed();
  }

  /** Everything pushed, written; with `sync`, on disk too. */
  async finish(opts: { sync: boolean }): Promise<void> {
    while (this.#writing) await this.#writing;
    while (this.#syncing) await this.#syncing;
    this.#throwIfFailed();
    if (opts.sync) await this.fh.datasync();
  }

  #start(): void {
    if (this.#writing || this.#queue.length === 0 || this.#failure) return;
    const batch = this.#queue;
    const bytes = this.#queued;
    this.#queue = [];
    this.#queued = 0;
    this.#writing = writevAll(this.fh, batch).then(() => {
      this.#writing = undefined;
      this.#unsynced += bytes;
      this.#syncInBackground();
      this.#start();
    }, (err: unknown) => {
      this.#writing = undefined;
      this.#failure ??= { err };
    });
  }

  #syncInBackground(): void {
    const every = this.opts.syncEvery;
    if (!every || this.#unsynced < every || this.#syncing) return;
    this.#unsynced = 0;
    this.#syncing = this.fh.datasync().then(() => { this.#syncing = undefined; }, (err: unknown) => {
      this.#syncing = undefined;
      this.#failure ??= { err };
    });
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.err;
  }
}

/** writev until every byte is written (a short write goes on from where it stopped). */
async function writevAll(fh: FileHandle, buffers: Uint8Array[]): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    let { bytesWritten } = await fh.writev(rest);
    let done = 0;
    while (done < rest.length && bytesWritten >= rest[done]!.byteLength) bytesWritten -= rest[done++]!.byteLength;
    rest = rest.slice(done);
    if (bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
  }
}

/**
 * A folder of immutable blobs, one file each, named by the caller: written to
 * `<name>.part` and renamed into place once complete (and, by default, on
 * disk), so a reader never sees a blob half-written. No index: whoever names
 * the blobs (the controller's `model_states` rows) decides which exist.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readdir, rename, stat, unlink, copyFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { dataLoss, invalidArgument } from '../errors.js';

/** Bytes per read: the pieces a blob streams out in (each its own buffer, handed on without a copy). */
export const READ_PIECE_BYTES = 1 << 20;
/** While a blob is written, every this many bytes go to disk in the background, so the final flush is short. */
const SYNC_EVERY_BYTES = 64 << 20;
const PART = '.part';
const NAME = /^[A-Za-z0-9_-]{1,128}$/;

export interface WrittenBlob {
  size: number;
  /** SHA-256 of the bytes, when the write computed it (no `sha256` given). */
  sha256: Buffer;
}

export interface BlobEntry {
  name: string;
  /** A write still in progress (or abandoned by a crash). */
  partial: boolean;
  mtimeMs: number;
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

export class BlobFolder {
  /**
   * @param sync flush each blob to disk before it is renamed into place (a crash never leaves a named blob
   *   short); off only where the folder need not outlive the machine (tests, benchmarks of the transport).
   */
  private constructor(readonly root: string, readonly sync: boolean) {}

  static async open(root: string, opts: { sync?: boolean } = {}): Promise<BlobFolder> {
    await mkdir(root, { recursive: true });
    return new BlobFolder(path.resolve(root), opts.sync ?? true);
  }

  #path(name: string, suffix = ''): string {
    if (!NAME.test(name)) throw invalidArgument(`blob name '${name}' is not [A-Za-z0-9_-]{1,128}`);
    return path.join(this.root, name + suffix);
  }

  /**
   * Writes `pieces` to `<name>.part`, receiving the next piece while this one
   * is written; hashes them unless the caller knows their SHA-256 already
   * (`sha256`, read once the pieces have ended: a verified stream's). Leaves
   * the part for commit() (or remove(…, { partial: true })); a failure (the source's too) removes it.
   */
  async write(name: string, pieces: AsyncIterable<Uint8Array>, opts: { sha256?: () => Buffer | undefined } = {}): Promise<WrittenBlob> {
    const file = this.#path(name, PART);
    const fh = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    let written = false;
    try {
      const hash = opts.sha256 ? undefined : createHash('sha256');
      let size = 0;
      let unsynced = 0;
      let syncing: Promise<void> | undefined;
      const it = pieces[Symbol.asyncIterator]();
      for (let next = it.next(); ;) {
        const { done, value } = await next;
        if (done) break;
        next = it.next();
        next.catch(() => {}); // observed at the top of the loop; a failed write ends the loop first
        hash?.update(value);
        await writeAll(fh, value);
        size += value.byteLength;
        unsynced += value.byteLength;
        if (this.sync && unsynced >= SYNC_EVERY_BYTES && !syncing) {
          unsynced = 0;
          syncing = fh.datasync().finally(() => { syncing = undefined; });
        }
      }
      await syncing;
      if (this.sync) await fh.datasync();
      const sha256 = hash ? hash.digest() : opts.sha256!();
      if (!sha256) throw new Error(`blob ${name}: the source ended without its SHA-256`);
      written = true;
      return { size, sha256 };
    } finally {
      await fh.close().catch(() => {});
      if (!written) await unlink(file).catch(() => {});
    }
  }

  /** Renames the part into place: the blob is complete from now on. */
  async commit(name: string): Promise<void> {
    await rename(this.#path(name, PART), this.#path(name));
    if (this.sync) await this.#syncFolder();
  }

  /**
   * A second name for the bytes of `from` (a hard link: nothing is copied; a
   * copy where the filesystem has no links). Blobs are never modified, so the
   * two stay equal.
   */
  async link(from: string, to: string): Promise<void> {
    const target = this.#path(to, PART);
    try {
      await link(this.#path(from), target);
    } catch (err) {
      if (isMissing(err)) throw dataLoss(`blob ${from} is missing from ${this.root}`);
      await copyFile(this.#path(from), target, constants.COPYFILE_EXCL);
    }
    await this.commit(to);
  }

  /**
   * The blob's bytes in pieces of `pieceBytes`, the next read while the caller
   * takes this one; DATA_LOSS if it is missing or not `size` bytes long.
   */
  async *read(name: string, size: number, opts: { pieceBytes?: number } = {}): AsyncGenerator<Buffer> {
    const pieceBytes = opts.pieceBytes ?? READ_PIECE_BYTES;
    let fh: FileHandle;
    try {
      fh = await open(this.#path(name), 'r');
    } catch (err) {
      if (isMissing(err)) throw dataLoss(`blob ${name} is missing from ${this.root}`);
      throw err;
    }
    try {
      const length = (await fh.stat()).size;
      if (length !== size) throw dataLoss(`blob ${name} holds ${length} bytes, ${size} expected`);
      const readAt = async (at: number): Promise<Buffer> => {
        const buf = Buffer.allocUnsafe(Math.min(pieceBytes, size - at));
        let got = 0;
        while (got < buf.byteLength) {
          const { bytesRead } = await fh.read(buf, got, buf.byteLength - got, at + got);
          if (bytesRead === 0) throw dataLoss(`blob ${name} ended after ${at + got} of ${size} bytes`);
          got += bytesRead;
        }
        return buf;
      };
      let next = size > 0 ? readAt(0) : undefined;
      for (let at = 0; next; ) {
        const piece = await next;
        at += piece.byteLength;
        next = at < size ? readAt(at) : undefined;
        next?.catch(() => {}); // a consumer that stops early leaves it unobserved
        yield piece;
      }
    } finally {
      await fh.close();
    }
  }

  /** Removes blobs, or with `partial` their parts (missing ones are fine: removal is idempotent). */
  async remove(names: Iterable<string>, opts: { partial?: boolean } = {}): Promise<void> {
    for (const name of names) {
      await unlink(this.#path(name, opts.partial ? PART : '')).catch((err: unknown) => { if (!isMissing(err)) throw err; });
    }
  }

  /** Every blob and part in the folder, with its last modification. */
  async list(): Promise<BlobEntry[]> {
    const out: BlobEntry[] = [];
    for (const file of await readdir(this.root)) {
      const partial = file.endsWith(PART);
      const name = partial ? file.slice(0, -PART.length) : file;
      if (!NAME.test(name)) continue;
      try {
        out.push({ name, partial, mtimeMs: (await stat(path.join(this.root, file))).mtimeMs });
      } catch (err) {
        if (!isMissing(err)) throw err; // removed meanwhile
      }
    }
    return out;
  }

  async #syncFolder(): Promise<void> {
    const dir = await open(this.root, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.byteLength;) {
    const { bytesWritten } = await fh.write(data, at, data.byteLength - at);
    at += bytesWritten;
  }
}

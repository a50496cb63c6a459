/**
 * A folder of immutable blobs, one file each, named by the caller: written to
 * `<name>.part` and renamed into place once complete (and, by default, on
 * disk), so a reader never sees a blob half-written. No index: whoever names
 * the blobs (the controller's `model_states` rows) decides which exist.
 */
import { createHash, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink, copyFile, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { dataLoss, invalidArgument } from '../errors.js';
import type { VerifiedPieces } from './assembler.js';
import { checkedPieces } from './checked-pieces.js';
import { QueuedFileWriter } from './queued-writer.js';

/** Bytes per read: the pieces a blob streams out in (each its own buffer, handed on without a copy). */
export const READ_PIECE_BYTES = 1 << 20;
/** While a blob is written, every this many bytes go to disk in the background, so the final flush is short. */
const SYNC_EVERY_BYTES = 64 << 20;
/** Bytes per read when a blob is read whole: large, so the per-read cost vanishes; the next read runs while this one is hashed. */
const WHOLE_READ_BYTES = 8 << 20;
const PART = '.part';
const NAME = /^[A-Za-z0-9_-]{1,128}$/;
/** The folder's id: no blob name (it has a dot), so list() never sees it. */
const ID_FILE = '.folder-id';

export interface WrittenBlob {
  size: number;
  /** SHA-256 of the bytes, when the write computed it (no `sha256` given). */
  sha256: Buffer;
}

/**
 * A blob written as a part by someone sharing the folder (a worker's new
 * state), not yet committed: its name, and the size and SHA-256 the writer
 * reports for it.
 */
export interface FolderPart {
  part: string;
  size: number;
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
  private constructor(readonly root: string, readonly sync: boolean, readonly id: string) {}

  /**
   * Opens (and creates) the folder as its owner: the folder gets an id on its
   * first open, which processes sharing it (a worker on the same volume)
   * report, so the owner knows whom it may hand blobs by name.
   */
  static async open(root: string, opts: { sync?: boolean } = {}): Promise<BlobFolder> {
    await mkdir(root, { recursive: true });
    const resolved = path.resolve(root);
    return new BlobFolder(resolved, opts.sync ?? true, await readId(resolved) ?? await createId(resolved));
  }

  /** Opens a folder its owner made (a worker's view of the controller's): undefined if it has no id (yet). */
  static async join(root: string, opts: { sync?: boolean } = {}): Promise<BlobFolder | undefined> {
    const resolved = path.resolve(root);
    const id = await readId(resolved);
    return id === undefined ? undefined : new BlobFolder(resolved, opts.sync ?? true, id);
  }

  #path(name: string, suffix = ''): string {
    if (!NAME.test(name)) throw invalidArgument(`blob name '${name}' is not [A-Za-z0-9_-]{1,128}`);
    return path.join(this.root, name + suffix);
  }

  /**
   * Writes `pieces` to `<name>.part`, receiving the next pieces while earlier
   * ones are written (QueuedFileWriter); hashes them unless the caller knows their SHA-256 already
   * (`sha256`, read once the pieces have ended: a verified stream's). Leaves
   * the part for commit() (or remove(…, { partial: true })); a failure (the source's too) or an abort
   * (`signal`, checked between pieces) removes it.
   */
  async write(name: string, pieces: AsyncIterable<Uint8Array>, opts: { sha256?: () => Buffer | undefined; signal?: AbortSignal } = {}): Promise<WrittenBlob> {
    const file = this.#path(name, PART);
    const fh = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    let written = false;
    try {
      const hash = opts.sha256 ? undefined : createHash('sha256');
      const writer = new QueuedFileWriter(fh, { syncEvery: this.sync ? SYNC_EVERY_BYTES : undefined });
      let size = 0;
      for await (const piece of pieces) {
        opts.signal?.throwIfAborted();
        hash?.update(piece);
        await writer.push(piece);
        size += piece.byteLength;
      }
      opts.signal?.throwIfAborted();
      await writer.finish({ sync: this.sync });
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
  read(name: string, size: number, opts: { pieceBytes?: number } = {}): AsyncGenerator<Buffer> {
    const pieceBytes = opts.pieceBytes ?? READ_PIECE_BYTES;
    return this.#readAhead(name, size, (at) => Buffer.allocUnsafe(Math.min(pieceBytes, size - at)));
  }

  /**
   * The blob whole in one buffer, checked against its size and SHA-256
   * (DATA_LOSS otherwise): read in large slices straight into the buffer, each
   * hashed while the next is read, so the bytes are copied once.
   */
  async readWhole(name: string, size: number, sha256: Uint8Array): Promise<Buffer> {
    const out = Buffer.allocUnsafe(size);
    const hash = createHash('sha256');
    for await (const slice of this.#readAhead(name, size, (at) => out.subarray(at, Math.min(size, at + WHOLE_READ_BYTES)))) hash.update(slice);
    if (!hash.digest().equals(sha256)) throw dataLoss(`blob ${name} does not match its SHA-256`);
    return out;
  }

  /** The blob's pieces, checked against its SHA-256 as they pass (checkedPieces: the last one only once it matched). */
  readChecked(name: string, size: number, sha256: Uint8Array): VerifiedPieces {
    return checkedPieces(this.read(name, size), { size, expected: () => sha256, what: `blob ${name}`, digest: 'its SHA-256' });
  }

  /** The blob read into the buffers `into(offset)` gives, each yielded once filled, the next read already under way. */
  async *#readAhead(name: string, size: number, into: (at: number) => Buffer): AsyncGenerator<Buffer> {
    const fh = await this.#openForRead(name, size);
    try {
      const readAt = async (at: number): Promise<Buffer> => {
        const buf = into(at);
        await readFully(fh, buf, at, name, size);
        return buf;
      };
      let next = size > 0 ? readAt(0) : undefined;
      for (let at = 0; next;) {
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

  /** The blob opened for reading; DATA_LOSS if it is missing or not `size` bytes long. */
  async #openForRead(name: string, size: number): Promise<FileHandle> {
    let fh: FileHandle;
    try {
      fh = await open(this.#path(name), 'r');
    } catch (err) {
      if (isMissing(err)) throw dataLoss(`blob ${name} is missing from ${this.root}`);
      throw err;
    }
    const length = (await fh.stat()).size;
    if (length !== size) {
      await fh.close();
      throw dataLoss(`blob ${name} holds ${length} bytes, ${size} expected`);
    }
    return fh;
  }

  /** The size of a part on disk (undefined if there is none). */
  async partSize(name: string): Promise<number | undefined> {
    try {
      return (await stat(this.#path(name, PART))).size;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
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

/** Fills `buf` from the file at `at`; DATA_LOSS if the file ends first. */
async function readFully(fh: FileHandle, buf: Buffer, at: number, name: string, size: number): Promise<void> {
  for (let got = 0; got < buf.byteLength;) {
    const { bytesRead } = await fh.read(buf, got, buf.byteLength - got, at + got);
    if (bytesRead === 0) throw dataLoss(`blob ${name} ended after ${at + got} of ${size} bytes`);
    got += bytesRead;
  }
}

async function readId(root: string): Promise<string | undefined> {
  try {
    return (await readFile(path.join(root, ID_FILE), 'utf8')).trim() || undefined;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/** Gives the folder an id: written aside and linked into place, so a reader never sees it half-written and two openers agree. */
async function createId(root: string): Promise<string> {
  const aside = path.join(root, `${ID_FILE}.${randomUUID()}`);
  await writeFile(aside, randomUUID(), { mode: 0o644 });
  try {
    await link(aside, path.join(root, ID_FILE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(aside);
  }
  return (await readId(root))!;
}


import { statSync, type BigIntStats } from 'node:fs';

/** One version of a small file, as read from disk. */
export interface CachedFile {
  /** The stat of the version the bytes belong to (taken before they were read). */
  stats: BigIntStats;
  data: Buffer;
}

/** Whether two stats describe the same version: any put (new inode) or in-place write (times) changes one of these. */
const sameVersion = (a: BigIntStats, b: BigIntStats): boolean =>
  a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

/**
 * Recently served small files kept in memory (entries may carry more, e.g.
 * precomputed headers), the least recently used dropped once the byte budget
 * is exceeded. An entry is only handed out after a stat of its path reports
 * the very version it holds, so a replaced or rewritten file is read afresh.
 * Keys are real paths the caller has already confined to a project: the
 * cache saves the open/read/close, never a security check.
 */
export class FileCache<E extends CachedFile = CachedFile> {
  readonly maxBytes: number;
  #bytes = 0;
  // Map order = recency: the first entry is the least recently used.
  readonly #entries = new Map<string, E>();

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether an entry is held for this path, whatever its version (no stat). */
  has(absolute: string): boolean {
    return this.#entries.has(absolute);
  }

  /**
   * The entry of this real path if the file on disk is still that version; otherwise undefined (the caller reads the disk).
   * The stat runs on the calling thread: microseconds for a local file, less than a hop through libuv's pool.
   */
  lookup(absolute: string): E | undefined {
    return this.has(absolute) ? this.match(absolute, statSync(absolute, { bigint: true, throwIfNoEntry: false })) : undefined;
  }

  /** lookup() for a caller that has just taken the path's stat itself (`current`; undefined = missing). */
  match(absolute: string, current: BigIntStats | undefined): E | undefined {
    const entry = this.#entries.get(absolute);
    if (!entry) return undefined;
    this.#entries.delete(absolute);
    if (!current || !sameVersion(entry.stats, current)) {
      this.#bytes -= entry.data.byteLength;
      return undefined;
    }
    this.#entries.set(absolute, entry);
    return entry;
  }

  /** Keeps a file just read (stats taken before reading), evicting the least recently used beyond the budget. */
  admit(absolute: string, file: E): void {
    const size = file.data.byteLength;
    if (size > this.maxBytes) return;
    const old = this.#entries.get(absolute);
    if (old) {
      this.#entries.delete(absolute);
      this.#bytes -= old.data.byteLength;
    }
    for (const [key, entry] of this.#entries) {
      if (this.#bytes + size <= this.maxBytes) break;
      this.#entries.delete(key);
      this.#bytes -= entry.data.byteLength;
    }
    this.#entries.set(absolute, file);
    this.#bytes += size;
  }
}

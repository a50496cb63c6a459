import { statSync, type BigIntStats } from 'node:fs';
import { LRUCache } from 'lru-cache';

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
  readonly #entries: LRUCache<string, E>;

  constructor(readonly maxBytes: number) {
    // An empty file counts as one byte: the cache's sizes must be positive.
    this.#entries = new LRUCache<string, E>({ maxSize: maxBytes, sizeCalculation: (file) => Math.max(1, file.data.byteLength) });
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#entries.calculatedSize;
  }

  /** The entry held for this path, whatever its version (no stat; not a use: recency is unchanged). */
  peek(absolute: string): E | undefined {
    return this.#entries.peek(absolute);
  }

  /**
   * The entry of this real path if the file on disk is still that version; otherwise undefined (the caller reads the disk).
   * The stat runs on the calling thread: microseconds for a local file, less than a hop through libuv's pool.
   */
  lookup(absolute: string): E | undefined {
    return this.#entries.has(absolute) ? this.match(absolute, statSync(absolute, { bigint: true, throwIfNoEntry: false })) : undefined;
  }

  /** lookup() for a caller that has just taken the path's stat itself (`current`; undefined = missing). */
  match(absolute: string, current: BigIntStats | undefined): E | undefined {
    const entry = this.#entries.get(absolute);
    if (entry && current && sameVersion(entry.stats, current)) return entry;
    if (entry) this.#entries.delete(absolute);
    return undefined;
  }

  /**
   * Keeps a file just read (stats taken before reading), evicting the least recently used beyond the budget;
   * one larger than the whole budget is not kept (nor the version it replaces).
   */
  admit(absolute: string, file: E): void {
    this.#entries.set(absolute, file);
  }
}

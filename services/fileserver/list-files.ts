import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isAideError } from '../../libs/errors.js';
import type { FileInfo, ListFilesRequest, ListFilesResponse } from '../../libs/gen/aide/v1/fileserver.js';
import { toFileInfo } from './file-info.js';
import { decodePageToken, encodePageToken } from './page-token.js';
import { isUploadTemp } from './atomic-write.js';
import { pathSegments, resolveExisting, type ProjectPath } from '../../libs/files/safe-path.js';
import type { FileStore } from './store.js';

export const DEFAULT_PAGE_SIZE = 1000;
export const MAX_PAGE_SIZE = 10_000;

/** Code-point order, the same on every platform and locale. */
const byName = (a: Dirent, b: Dirent): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Order of a depth-first walk with sorted folders: segment by segment. */
function compareSegments(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

interface Walk {
  folder: string;
  recursive: boolean;
  namePrefix: string;
  /** Resume strictly after this entry; whole subtrees before it are skipped unread. */
  after: string[] | undefined;
}

/**
 * Entries in listing order. Symlinks are listed only when they resolve inside
 * the project; symlinked folders are never descended into (no cycles).
 */
// A folder that vanished (or is a file) while we list simply has no entries.
async function* walk(walkOpts: Walk, dir: string, relative: string[]): AsyncGenerator<FileInfo> {
  const { folder, recursive, namePrefix, after } = walkOpts;
  const entries = (await readdir(dir, { withFileTypes: true }).catch(() => []))
    .filter((e) => !isUploadTemp(e.name) && (relative.length > 0 || e.name.startsWith(namePrefix)))
    .sort(byName);
  for (const entry of entries) {
    const segments = [...relative, entry.name];
    const order = after ? compareSegments(segments, after) : 1;
    const isAncestorOfCursor = order < 0 && after!.length > segments.length
      && compareSegments(segments, after!.slice(0, segments.length)) === 0;
    if (order <= 0 && !isAncestorOfCursor) continue;
    const absolute = path.join(dir, entry.name);
    const info = await entryInfo(folder, absolute, segments.join('/'), entry);
    if (!info) continue;
    if (info.directory && recursive && !entry.isSymbolicLink()) {
      yield* walk(walkOpts, absolute, segments);
    } else if (!isAncestorOfCursor && (!info.directory || !recursive)) {
      yield info;
    }
  }
}

async function entryInfo(folder: string, absolute: string, relative: string, entry: Dirent): Promise<FileInfo | undefined> {
  try {
    if (entry.isSymbolicLink()) {
      const real = await realpath(absolute);
      if (!real.startsWith(folder + path.sep)) return undefined;
    } else if (!entry.isFile() && !entry.isDirectory()) {
      return undefined;
    }
    const stats = await stat(absolute, { bigint: true });
    return stats.isFile() || stats.isDirectory() ? toFileInfo(relative, stats) : undefined;
  } catch {
    // Vanished or dangling while we listed: not part of the listing.
    return undefined;
  }
}

/**
 * One page of a folder's entries. The prefix names a folder ("a/b/") or a
 * folder plus the start of names in it ("a/b/IMG_"). Non-recursive pages hold
 * files and subfolders; recursive ones hold files only. A missing folder lists
 * as empty, exactly like one outside the project.
 */
export async function listFiles(store: FileStore, req: ListFilesRequest): Promise<ListFilesResponse> {
  const segments = pathSegments(req.prefix.replace(/\/$/, ''), 'prefix', true);
  const namePrefix = req.prefix.endsWith('/') || segments.length === 0 ? '' : segments.pop()!;
  const query = JSON.stringify([req.project, req.prefix, req.recursive]);
  const afterPath = decodePageToken(req.pageToken, query);
  const pageSize = Math.min(req.pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);

  let start: ProjectPath;
  try {
    start = resolveExisting(store.root, req.project, segments.join('/'), { field: 'prefix', allowEmpty: true });
  } catch (err) {
    if (isAideError(err, 'NOT_FOUND')) return { files: [], nextPageToken: '' };
    throw err;
  }
  const folder = resolveExisting(store.root, req.project, '', { allowEmpty: true }).absolute;
  const files: FileInfo[] = [];
  const walkOpts: Walk = {
    folder,
    recursive: req.recursive,
    namePrefix: namePrefix.normalize('NFC'),
    after: afterPath === undefined ? undefined : afterPath.split('/').slice(segments.length),
  };
  const base = start.relative === '' ? [] : start.relative.split('/');
  for await (const info of walk(walkOpts, start.absolute, [])) {
    if (files.length === pageSize) {
      return { files, nextPageToken: encodePageToken({ query, after: files[files.length - 1]!.path }) };
    }
    files.push({ ...info, path: [...base, info.path].join('/') });
  }
  return { files, nextPageToken: '' };
}

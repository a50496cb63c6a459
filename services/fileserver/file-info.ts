import type { BigIntStats } from 'node:fs';
import { stat } from 'node:fs/promises';
import mime from 'mime-types';
import type { FileInfo } from '../../libs/gen/aide/v1/fileserver.js';
import { fsError } from '../../libs/files/fs-errors.js';
import type { ProjectPath } from '../../libs/files/safe-path.js';

export const contentTypeOf = (name: string): string => mime.lookup(name) || 'application/octet-stream';

/**
 * Strong validator from inode, size and nanosecond mtime: every put renames a
 * new inode into place, so any content change yields a new tag.
 */
export const etagOf = (stats: BigIntStats): string =>
  `"${stats.ino.toString(36)}-${stats.size.toString(36)}-${stats.mtimeNs.toString(36)}"`;

export function toFileInfo(relative: string, stats: BigIntStats): FileInfo {
  const directory = stats.isDirectory();
  return {
    path: relative,
    size: directory ? 0 : Number(stats.size),
    modifiedAt: stats.mtime,
    contentType: directory ? '' : contentTypeOf(relative),
    etag: directory ? '' : etagOf(stats),
    directory,
  };
}

export async function statPath(target: ProjectPath): Promise<BigIntStats> {
  try {
    return await stat(target.absolute, { bigint: true });
  } catch (err) {
    throw fsError(err, target.relative);
  }
}

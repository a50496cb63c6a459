import { unlink } from 'node:fs/promises';
import type { DeleteFileRequest, DeleteFileResponse } from '../../libs/gen/aide/v1/fileserver.js';
import { fsError } from '../../libs/files/fs-errors.js';
import { resolveEntry } from '../../libs/files/safe-path.js';
import type { FileStore } from './store.js';

/** Removes one file (or symlink); folders are left alone. */
export async function deleteFile(store: FileStore, req: DeleteFileRequest): Promise<DeleteFileResponse> {
  const target = resolveEntry(store.root, req.project, req.path);
  try {
    await unlink(target.absolute);
  } catch (err) {
    throw fsError(err, target.relative);
  }
  return {};
}

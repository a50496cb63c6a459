import { open, type FileHandle } from 'node:fs/promises';
import { failedPrecondition, invalidField } from '../../libs/errors.js';
import type { GetFileRequest, GetFileResponse } from '../../libs/gen/aide/v1/fileserver.js';
import { toChunks } from '../../libs/blob/index.js';
import { toFileInfo } from './file-info.js';
import { fsError } from '../../libs/files/fs-errors.js';
import { resolveExisting } from '../../libs/files/safe-path.js';
import type { FileStore } from './store.js';

/**
 * A file (or the byte range [offset, offset + length) of it) as its info
 * followed by chunks, read straight from disk: memory stays at about one chunk
 * however large the file. Reads the inode opened first, so a concurrent put
 * never mixes two versions.
 */
export async function* getFile(store: FileStore, req: GetFileRequest, signal: AbortSignal): AsyncGenerator<GetFileResponse> {
  const target = resolveExisting(store.root, req.project, req.path);
  let handle: FileHandle;
  try {
    handle = await open(target.absolute, 'r');
  } catch (err) {
    throw fsError(err, target.relative);
  }
  try {
    const stats = await handle.stat({ bigint: true });
    if (!stats.isFile()) throw failedPrecondition(`'${target.relative}' is not a file`);
    const size = Number(stats.size);
    if (req.offset > size) throw invalidField('offset', `is past the end of the file (${size} bytes)`);
    const end = req.length === 0 ? size : Math.min(size, req.offset + req.length);
    yield { payload: { $case: 'info', value: toFileInfo(target.relative, stats) } };
    const body = end > req.offset
      ? handle.createReadStream({ start: req.offset, end: end - 1, highWaterMark: store.chunkSize, autoClose: false, signal })
      : [];
    for await (const chunk of toChunks(body, { totalSize: end - req.offset, chunkSize: store.chunkSize })) {
      yield { payload: { $case: 'chunk', value: chunk } };
    }
  } finally {
    await handle.close();
  }
}

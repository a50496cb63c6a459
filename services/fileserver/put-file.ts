import { dataLoss, resourceExhausted } from '../../libs/errors.js';
import { payload, StreamParts, verifyChunks } from '../../libs/blob/index.js';
import type { BlobChunk } from '../../libs/gen/aide/v1/common.js';
import type { PutFileRequest, PutFileResponse } from '../../libs/gen/aide/v1/fileserver.js';
import { writeAtomically } from './atomic-write.js';
import { statPath, toFileInfo } from './file-info.js';
import { fsError } from '../../libs/files/fs-errors.js';
import { resolveForWrite } from '../../libs/files/safe-path.js';
import type { FileStore } from './store.js';

/** The chunks, each checked to carry the size the header announced. */
async function* announced(size: number, chunks: AsyncIterable<BlobChunk>): AsyncGenerator<BlobChunk> {
  for await (const chunk of chunks) {
    if (chunk.totalSize !== size) throw dataLoss(`header says ${size} bytes but the chunks carry ${chunk.totalSize}`);
    yield chunk;
  }
}

/** The verified bytes; complete only once the stream has ended, so trailing junk aborts the put. */
async function* wholeStream(pieces: AsyncIterable<Buffer>, parts: StreamParts<PutFileRequest>): AsyncGenerator<Buffer> {
  yield* pieces;
  await parts.end('the file');
}

/**
 * Stores a file from a header followed by chunks. The size limit is checked
 * before anything touches the disk (RESOURCE_EXHAUSTED), the checksum before
 * the file becomes visible (DATA_LOSS); either way, and on cancellation,
 * nothing is left behind and an existing file stays as it was.
 */
export async function putFile(store: FileStore, requests: AsyncIterable<PutFileRequest>, signal: AbortSignal): Promise<PutFileResponse> {
  const parts = new StreamParts(requests);
  const header = await parts.take(payload('header'), 'header');
  if (header.size > store.maxPutBytes) {
    throw resourceExhausted(`file of ${header.size} bytes exceeds the limit of ${store.maxPutBytes} bytes`);
  }
  const target = await resolveForWrite(store.root, header.project, header.path);
  const chunks = announced(header.size, parts.chunks(payload('chunk')));
  try {
    const pieces = verifyChunks(chunks, { maxSize: store.maxPutBytes, signal });
    await writeAtomically(target.absolute, wholeStream(pieces, parts), signal);
  } catch (err) {
    throw fsError(err, target.relative);
  }
  return { info: toFileInfo(target.relative, await statPath(target)) };
}

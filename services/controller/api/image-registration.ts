/** RegisterImages: the project's FileServer folder walked, unknown images added. */
import type { FileInfo } from '../../../libs/fileserver-client/index.js';
import { unreadableReason } from '../../../libs/plugin/unreadable.js';
import { insertImages, knownImagePaths, type NewImage } from '../store/images.js';
import type { Db } from '../store/db.js';
import type { ProjectFiles } from './deps.js';

/** Paths looked up and inserted per round trip. */
const BATCH = 500;

const isImage = (f: FileInfo): boolean => !f.directory && f.contentType.startsWith('image/');

/**
 * Width and height as the FileServer decodes them (a 1-pixel thumbnail: only
 * the header matters); 0×0 and the reason for a file that is not a readable
 * image. A FileServer that does not answer fails the registration.
 */
async function dimensions(files: ProjectFiles, path: string, signal: AbortSignal): Promise<Pick<NewImage, 'width' | 'height' | 'unreadableReason'>> {
  try {
    const { info } = await files.getImage(path, { maxSide: 1, signal });
    return { width: info.sourceWidth, height: info.sourceHeight, unreadableReason: '' };
  } catch (err) {
    const reason = unreadableReason(err);
    if (reason === undefined) throw err;
    return { width: 0, height: 0, unreadableReason: reason };
  }
}

async function addBatch(db: Db, project: string, files: ProjectFiles, batch: FileInfo[], signal: AbortSignal): Promise<number> {
  const known = await knownImagePaths(db, project, batch.map((f) => f.path));
  const fresh: NewImage[] = [];
  for (const f of batch) {
    if (!known.has(f.path)) fresh.push({ filePath: f.path, sizeBytes: f.size, ...(await dimensions(files, f.path, signal)) });
  }
  return insertImages(db, project, fresh);
}

/** Walks the folder `prefix` of the project recursively; counts images added and already known. */
export async function registerImages(
  db: Db, project: string, files: ProjectFiles, prefix: string, signal: AbortSignal,
): Promise<{ added: number; alreadyKnown: number }> {
  let seen = 0;
  let added = 0;
  let batch: FileInfo[] = [];
  for await (const f of files.list(prefix, { recursive: true, signal })) {
    if (!isImage(f)) continue;
    seen++;
    batch.push(f);
    if (batch.length === BATCH) {
      added += await addBatch(db, project, files, batch, signal);
      batch = [];
    }
  }
  if (batch.length > 0) added += await addBatch(db, project, files, batch, signal);
  return { added, alreadyKnown: seen - added };
}

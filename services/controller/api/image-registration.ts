/** RegisterImages: the project's FileServer folder walked, unknown images added. */
import type { FileInfo, ReadImagesOptions } from '../../../libs/fileserver-client/index.js';
import { batchReadReason } from '../../../libs/plugin/unreadable.js';
import { insertImages, knownImagePaths, type NewImage } from '../store/images.js';
import type { Db } from '../store/db.js';
import type { ProjectFiles } from './deps.js';

/** Paths looked up, sized (one ReadImages call) and inserted per round trip. */
const BATCH = 1000;

/**
 * What registration asks ReadImages for: sizes only, each file checked to read as an image (a PNG without
 * decoding it: services/fileserver/checked-png.ts). maxSide 1 is for a FileServer that predates sizes_only: it
 * decodes at 1 pixel instead, which answers the same. Exported for bench/controller/register.ts.
 */
export const sizeRequest = (signal: AbortSignal): ReadImagesOptions => ({ maxSide: 1, sizesOnly: true, signal });

const isImage = (f: FileInfo): boolean => !f.directory && f.contentType.startsWith('image/');

/**
 * Widths and heights of the files, in one batch read of sizes (several files
 * checked at a time on the server); 0×0 and the reason for a file that is not
 * a readable image. A FileServer that does not answer fails the registration.
 */
async function dimensions(files: ProjectFiles, paths: readonly string[], signal: AbortSignal): Promise<Pick<NewImage, 'width' | 'height' | 'unreadableReason'>[]> {
  const out: Pick<NewImage, 'width' | 'height' | 'unreadableReason'>[] = [];
  for await (const result of files.getImages(paths, sizeRequest(signal))) {
    out.push(result.error
      ? { width: 0, height: 0, unreadableReason: batchReadReason(result.error) }
      : { width: result.image.info.sourceWidth ?? 0, height: result.image.info.sourceHeight ?? 0, unreadableReason: '' });
  }
  return out;
}

async function addBatch(db: Db, project: string, files: ProjectFiles, batch: FileInfo[], signal: AbortSignal): Promise<number> {
  const known = await knownImagePaths(db, project, batch.map((f) => f.path));
  const fresh = batch.filter((f) => !known.has(f.path));
  const sizes = await dimensions(files, fresh.map((f) => f.path), signal);
  return insertImages(db, project, fresh.map((f, i): NewImage => ({ filePath: f.path, sizeBytes: f.size, ...sizes[i]! })));
}

/**
 * Walks the folder `prefix` of the project recursively; counts images added and already known. A batch is
 * sized and inserted while the walk lists the next one (the FileServer lists and checks at once, Postgres
 * inserts meanwhile): one batch at a time in flight, so memory holds two.
 */
export async function registerImages(
  db: Db, project: string, files: ProjectFiles, prefix: string, signal: AbortSignal,
): Promise<{ added: number; alreadyKnown: number }> {
  let seen = 0;
  let added = 0;
  let inFlight: Promise<number> | undefined;
  const next = async (batch: FileInfo[]) => {
    if (inFlight) added += await inFlight;
    inFlight = addBatch(db, project, files, batch, signal);
    // Awaited at the next batch or the end; until then a failure must not count as unhandled.
    inFlight.catch(() => {});
  };
  let batch: FileInfo[] = [];
  for await (const f of files.list(prefix, { recursive: true, signal })) {
    if (!isImage(f)) continue;
    seen++;
    batch.push(f);
    if (batch.length === BATCH) {
      await next(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await next(batch);
  if (inFlight) added += await inFlight;
  return { added, alreadyKnown: seen - added };
}

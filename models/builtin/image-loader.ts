/**
 * Images for built-in models: size×size RGB bytes (squashed to a square),
 * read through the FileServer client. Sources that decode server-side
 * (getImage) send pixels already shrunk to the size; others send the file,
 * decoded here with sharp. The source image's own size comes along for
 * models whose output is per pixel of the original (segmentation). Sources
 * that read batches (getImages) send many images per call, squashed on the
 * server. A file
 * that is missing or not an image comes back as Unreadable, with why, for the
 * job to report; a read that fails (the FileServer down) throws.
 */
import sharp from 'sharp';
import { pMapIterable } from 'p-map';
import type { DecodedImage, FileSource, ImageResult } from '../../libs/plugin/context.js';
import { isUnreadable, NOT_FOUND_REASON, unreadableReason, type Unreadable } from '../../libs/plugin/unreadable.js';

/** Reads in flight at once: enough to hide FileServer latency, few enough to bound memory. */
const CONCURRENCY = 8;

/** The largest input side a batch read decodes (ImageBatchOptions.maxSide, FileServer ReadImages); larger inputs (MegaDetector's 1280) are read one by one. */
export const BATCH_READ_MAX_SIDE = 1024;

/** What a file without pixels gives: why, for the job to report. */
export const NOT_FOUND: Unreadable = { unreadable: NOT_FOUND_REASON };

/** Pixels decoded from a file's bytes; a file sharp cannot decode is unreadable, with sharp's reason. */
export async function decodeBytes(bytes: Buffer, limitInputPixels?: number): Promise<DecodedImage | Unreadable> {
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { data, info };
  } catch (err) {
    return { unreadable: `not a readable image (${(err as Error).message})` };
  }
}

/**
 * A getImage answer, or why the file cannot be read; any other failure (the
 * FileServer down after the client's retries) propagates and fails the work.
 */
export async function readOrUnreadable<R>(read: () => Promise<R>): Promise<R | Unreadable> {
  try {
    return await read();
  } catch (err) {
    const reason = unreadableReason(err);
    if (reason === undefined) throw err;
    return { unreadable: reason };
  }
}

async function decode(files: FileSource, path: string, size: number): Promise<DecodedImage | Unreadable> {
  if (files.getImage) return readOrUnreadable(() => files.getImage!(path, { maxSide: size }));
  const bytes = await files.getFile(path);
  return bytes ? decodeBytes(bytes) : NOT_FOUND;
}

/** Decoded pixels as RGB bytes, size×size×3, row-major (squashed to the square). */
export async function toSquareRgb(image: DecodedImage, size: number): Promise<Uint8Array> {
  const { width, height, channels } = image.info;
  if (width === size && height === size && channels === 3) return new Uint8Array(image.data);
  const resized = await sharp(image.data, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } })
    .removeAlpha()
    .toColourspace('srgb')
    .resize(size, size, { fit: 'fill' })
    .raw()
    .toBuffer();
  return new Uint8Array(resized);
}

export interface SizedImage {
  /** RGB bytes, size×size×3, row-major. */
  pixels: Uint8Array;
  /** The source image's size, before it was squashed. */
  width: number;
  height: number;
}

/** The image at size×size with its source size, or why the file cannot be read. */
export async function loadSizedImage(files: FileSource, path: string, size: number): Promise<SizedImage | Unreadable> {
  const image = await decode(files, path, size);
  if (isUnreadable(image)) return image;
  const { width, height, sourceWidth, sourceHeight } = image.info;
  return { pixels: await toSquareRgb(image, size), width: sourceWidth || width, height: sourceHeight || height };
}

/** A batch read's answer for one image as the loader gives it: squashed pixels with the source size, or why not. */
function fromBatchRead(result: ImageResult): SizedImage | Unreadable {
  if (result.error) return { unreadable: result.error.code === 'NOT_FOUND' ? NOT_FOUND_REASON : result.error.message };
  const { data, info } = result.image;
  return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.sourceWidth || info.width, height: info.sourceHeight || info.height };
}

/**
 * The images at size×size with their source sizes (or why each cannot be read), in the order of `paths`, as
 * they arrive: in batches decoded by the FileServer (FileSource.getImages, several at once server-side) where
 * the source offers it and the size is within its limit, else one read per image, a bounded number at a time. The first failure to read (not an
 * unreadable file) ends the iteration with it.
 */
export async function* sizedImages(files: FileSource, paths: readonly string[], size: number, signal?: AbortSignal): AsyncGenerator<SizedImage | Unreadable> {
  if (files.getImages && size <= BATCH_READ_MAX_SIDE) {
    for await (const result of files.getImages(paths, { maxSide: size, squash: true, signal })) yield fromBatchRead(result);
    return;
  }
  yield* pMapIterable(paths, (path) => {
    signal?.throwIfAborted();
    return loadSizedImage(files, path, size);
  }, { concurrency: CONCURRENCY });
}

/** sizedImages collected; the first failure to read (not an unreadable file) rejects. */
export async function loadSizedImages(
  files: FileSource,
  paths: readonly string[],
  size: number,
  signal?: AbortSignal,
  onLoaded?: (done: number) => void,
): Promise<(SizedImage | Unreadable)[]> {
  const out: (SizedImage | Unreadable)[] = [];
  for await (const image of sizedImages(files, paths, size, signal)) {
    out.push(image);
    onLoaded?.(out.length);
  }
  return out;
}

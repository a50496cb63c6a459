/**
 * Images for built-in models: size×size RGB bytes (squashed to a square),
 * read through the FileServer client. Sources that decode server-side
 * (getImage) send pixels already shrunk to the size; others send the file,
 * decoded here with sharp. The source image's own size comes along for
 * models whose output is per pixel of the original (segmentation). A file
 * that is missing or not an image comes back as Unreadable, with why, for the
 * job to report; a read that fails (the FileServer down) throws.
 */
import sharp from 'sharp';
import type { DecodedImage, FileSource } from '../../libs/plugin/context.js';
import { isUnreadable, unreadableReason, type Unreadable } from '../../libs/plugin/unreadable.js';

/** Reads in flight at once: enough to hide FileServer latency, few enough to bound memory. */
const CONCURRENCY = 8;

/** What a file without pixels gives: why, for the job to report. */
export const NOT_FOUND: Unreadable = { unreadable: 'not found' };

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

/** loadSizedImage over many paths, a bounded number at a time, in order; the first failure to read (not an unreadable file) rejects. */
export async function loadSizedImages(
  files: FileSource,
  paths: readonly string[],
  size: number,
  signal?: AbortSignal,
  onLoaded?: (done: number) => void,
): Promise<(SizedImage | Unreadable)[]> {
  const out: (SizedImage | Unreadable)[] = new Array(paths.length);
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < paths.length) {
      signal?.throwIfAborted();
      const i = next++;
      out[i] = await loadSizedImage(files, paths[i]!, size);
      onLoaded?.(++done);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return out;
}

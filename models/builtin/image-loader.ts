/**
 * Images for built-in models: size×size RGB bytes (squashed to a square),
 * read through the FileServer client. Sources that decode server-side
 * (getImage) send pixels already shrunk to the size; others send the file,
 * decoded here with sharp. The source image's own size comes along for
 * models whose output is per pixel of the original (segmentation).
 */
import sharp from 'sharp';
import type { DecodedImage, FileSource } from '../../libs/plugin/context.js';

/** Reads in flight at once: enough to hide FileServer latency, few enough to bound memory. */
const CONCURRENCY = 8;

async function decode(files: FileSource, path: string, size: number): Promise<DecodedImage | null> {
  if (files.getImage) {
    try {
      return await files.getImage(path, { maxSide: size });
    } catch {
      return null;
    }
  }
  const bytes = await files.getFile(path);
  if (!bytes) return null;
  const { data, info } = await sharp(bytes).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, info };
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

/** The image at size×size with its source size; null when the file is missing or undecodable. */
export async function loadSizedImage(files: FileSource, path: string, size: number): Promise<SizedImage | null> {
  try {
    const image = await decode(files, path, size);
    if (!image) return null;
    const { width, height, sourceWidth, sourceHeight } = image.info;
    return { pixels: await toSquareRgb(image, size), width: sourceWidth || width, height: sourceHeight || height };
  } catch {
    return null;
  }
}

/** RGB bytes, size×size×3, row-major; null when the file is missing or undecodable. */
export async function loadImage(files: FileSource, path: string, size: number): Promise<Uint8Array | null> {
  return (await loadSizedImage(files, path, size))?.pixels ?? null;
}

/** loadSizedImage over many paths, a bounded number at a time, in order. */
export async function loadSizedImages(
  files: FileSource,
  paths: readonly string[],
  size: number,
  signal?: AbortSignal,
  onLoaded?: (done: number) => void,
): Promise<(SizedImage | null)[]> {
  const out: (SizedImage | null)[] = new Array(paths.length).fill(null);
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

/** loadImage over many paths, a bounded number at a time, in order. */
export async function loadImages(
  files: FileSource,
  paths: readonly string[],
  size: number,
  signal?: AbortSignal,
  onLoaded?: (done: number) => void,
): Promise<(Uint8Array | null)[]> {
  return (await loadSizedImages(files, paths, size, signal, onLoaded)).map((image) => image?.pixels ?? null);
}

/**
 * Images for built-in models: size×size RGB bytes (squashed to a square),
 * read through the FileServer client. Sources that decode server-side
 * (getImage) send pixels already shrunk to the size; others send the file,
 * decoded here with sharp.
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

/** RGB bytes, size×size×3, row-major; null when the file is missing or undecodable. */
export async function loadImage(files: FileSource, path: string, size: number): Promise<Uint8Array | null> {
  try {
    const image = await decode(files, path, size);
    return image ? await toSquareRgb(image, size) : null;
  } catch {
    return null;
  }
}

/** loadImage over many paths, a bounded number at a time, in order. */
export async function loadImages(
  files: FileSource,
  paths: readonly string[],
  size: number,
  signal?: AbortSignal,
  onLoaded?: (done: number) => void,
): Promise<(Uint8Array | null)[]> {
  const out: (Uint8Array | null)[] = new Array(paths.length).fill(null);
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < paths.length) {
      signal?.throwIfAborted();
      const i = next++;
      out[i] = await loadImage(files, paths[i]!, size);
      onLoaded?.(++done);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return out;
}

/**
 * Reading windows of one large image, each as a network input (size×size RGB
 * bytes, squashed to the square), without decoding the image once per
 * window: a source that decodes server-side (getImage) sends just each
 * window, already shrunk; otherwise the file is decoded once here and the
 * windows are cut from its pixels. Either way one image is open at a time.
 */
import type { DecodedImage, FileSource, ImageWindow } from '../../../libs/plugin/context.js';
import { isUnreadable, type Unreadable } from '../../../libs/plugin/unreadable.js';
import { decodeBytes, NOT_FOUND, readOrUnreadable, toSquareRgb } from '../image-loader.js';

/** Pixels a decoded image may have: as many as the FileServer accepts (an orthoimage of 32768² pixels). */
const MAX_PIXELS = 2 ** 30;

/** Windows fetched from the FileServer at once: hides latency, holds a few windows in memory. */
const SERVER_CONCURRENCY = 4;

export interface LargeImage {
  width: number;
  height: number;
  /** The windows' pixels as network inputs, in order. */
  read(windows: readonly ImageWindow[], size: number): Promise<Uint8Array[]>;
}

/** A window's pixels copied out of a decoded image's rows. */
function crop(image: DecodedImage, w: ImageWindow): DecodedImage {
  const { width, channels } = image.info;
  const row = w.width * channels;
  const data = Buffer.allocUnsafe(row * w.height);
  for (let y = 0; y < w.height; y++) {
    const start = ((w.top + y) * width + w.left) * channels;
    image.data.copy(data, y * row, start, start + row);
  }
  return { info: { width: w.width, height: w.height, channels }, data };
}

function decoded(image: DecodedImage): LargeImage {
  return {
    width: image.info.width,
    height: image.info.height,
    read: (windows, size) => Promise.all(windows.map((w) => toSquareRgb(crop(image, w), size))),
  };
}

/**
 * Windows decoded by the server; needs the source to report the image's full
 * size. A window read that fails later (the FileServer gone mid-image) throws.
 */
async function served(getImage: NonNullable<FileSource['getImage']>, path: string): Promise<LargeImage | Unreadable | undefined> {
  // A one-pixel window costs (almost) no decoding and tells the full size.
  const corner = await readOrUnreadable(() => getImage(path, { window: { left: 0, top: 0, width: 1, height: 1 } }));
  if (isUnreadable(corner)) return corner;
  const { info } = corner;
  if (!info.sourceWidth || !info.sourceHeight) return undefined;
  return {
    width: info.sourceWidth,
    height: info.sourceHeight,
    async read(windows, size) {
      const out: Uint8Array[] = new Array(windows.length);
      for (let i = 0; i < windows.length; i += SERVER_CONCURRENCY) {
        const part = windows.slice(i, i + SERVER_CONCURRENCY);
        const pixels = await Promise.all(part.map(async (window) => toSquareRgb(await getImage(path, { window, maxSide: size }), size)));
        pixels.forEach((p, k) => { out[i + k] = p; });
      }
      return out;
    },
  };
}

/**
 * The image at `path` opened for window reads, or why it cannot be read
 * (missing, not an image); a failed read (the FileServer down) throws.
 */
export async function openLargeImage(files: FileSource, path: string): Promise<LargeImage | Unreadable> {
  if (files.getImage) {
    const getImage = files.getImage.bind(files);
    const image = (await served(getImage, path)) ?? await readOrUnreadable(() => getImage(path));
    return isUnreadable(image) || 'read' in image ? image : decoded(image);
  }
  const bytes = await files.getFile(path);
  if (!bytes) return NOT_FOUND;
  const image = await decodeBytes(bytes, MAX_PIXELS);
  return isUnreadable(image) ? image : decoded(image);
}

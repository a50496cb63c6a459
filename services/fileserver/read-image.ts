import sharp, { type Sharp } from 'sharp';
import { invalidField } from '../../libs/errors.js';
import { toChunks } from '../../libs/blob/index.js';
import {
  ImageFormat, type ImageWindow, type ReadImageRequest, type ReadImageResponse,
} from '../../libs/gen/aide/v1/fileserver.js';
import { resolveExisting } from '../../libs/files/safe-path.js';
import type { FileStore } from './store.js';

// Raster formats only: SVG and the like may reference other files when rendered.
const INPUT_FORMATS = new Set(['jpeg', 'png', 'webp', 'tiff', 'gif', 'heif']);
/**
 * Orthoimages run to tens of thousands of pixels a side: inputs up to 2^30
 * pixels (e.g. 32768 × 32768) are read, since a window or a shrink decodes
 * only part of them or a little at a time. sharp's default stops at 16383².
 */
export const MAX_INPUT_PIXELS = 2 ** 30;
/** What one answer may hold (it is built in memory, its size goes first): sharp's default input limit, ~800 MB of RGB. */
export const MAX_OUTPUT_PIXELS = 0x3fff ** 2;

const notAnImage = () => invalidField('path', 'is not a readable image');

/** The window, checked against the source size; the whole image when the request has none. */
function windowOf(window: ImageWindow | undefined, width: number, height: number): ImageWindow {
  if (!window) return { left: 0, top: 0, width, height };
  if (window.width === 0) throw invalidField('window.width', 'must be at least 1');
  if (window.height === 0) throw invalidField('window.height', 'must be at least 1');
  if (window.left >= width) throw invalidField('window.left', `must be less than the image width ${width}`);
  if (window.top >= height) throw invalidField('window.top', `must be less than the image height ${height}`);
  if (window.left + window.width > width) {
    throw invalidField('window.width', `must be at most ${width - window.left} (image width ${width} - left ${window.left})`);
  }
  if (window.top + window.height > height) {
    throw invalidField('window.height', `must be at most ${height - window.top} (image height ${height} - top ${window.top})`);
  }
  return window;
}

/**
 * The size of the raster image in the file or its bytes (the header only); INVALID_ARGUMENT (field path) when it is
 * not a readable image or too large to read.
 */
export async function imageSize(source: string | Buffer): Promise<{ width: number; height: number }> {
  // No pixel limit for the header: the size is judged below with a clear answer.
  const meta = await sharp(source, { limitInputPixels: false }).metadata().catch(() => { throw notAnImage(); });
  if (!INPUT_FORMATS.has(meta.format ?? '') || !meta.width || !meta.height) throw notAnImage();
  if (meta.width * meta.height > MAX_INPUT_PIXELS) {
    throw invalidField('path', `is an image of ${meta.width}×${meta.height} pixels, more than the ${MAX_INPUT_PIXELS} readable`);
  }
  return { width: meta.width, height: meta.height };
}

function checkOutputSize(window: ImageWindow, maxSide: number, windowed: boolean): void {
  // At most the window, at most maxSide² once resized.
  const pixels = Math.min(window.width * window.height, maxSide > 0 ? maxSide * maxSide : Infinity);
  if (pixels > MAX_OUTPUT_PIXELS) {
    throw invalidField(windowed ? 'window' : 'max_side',
      `would give ${pixels} pixels, more than ${MAX_OUTPUT_PIXELS} in one answer: ask for a smaller window or a max_side`);
  }
}

function encode(pipeline: Sharp, format: ImageFormat): Sharp {
  switch (format) {
    case ImageFormat.IMAGE_FORMAT_UNSPECIFIED:
    case ImageFormat.IMAGE_FORMAT_RAW_RGB:
      return pipeline.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' });
    case ImageFormat.IMAGE_FORMAT_PNG:
      return pipeline.png();
    case ImageFormat.IMAGE_FORMAT_JPEG:
      return pipeline.jpeg({ quality: 90 });
    default:
      throw invalidField('format', 'is not a known image format');
  }
}

/**
 * An image decoded for a model: optionally cropped to a window, resized so
 * its longer side is at most maxSide (never enlarged), and encoded as raw RGB
 * (the default), PNG or JPEG. Info first, then the bytes as chunks.
 *
 * libvips decodes on demand and the crop comes before the resize, so memory
 * stays near the window's size however large the image: a tiled TIFF decodes
 * only the tiles the window touches (a 512² window of a 12000² image: 20 ms
 * here); PNG, JPEG and striped TIFF are decoded top to bottom down to the
 * window's last row, a strip at a time (that window: under a second).
 */
export async function* readImage(store: FileStore, req: ReadImageRequest, signal: AbortSignal): AsyncGenerator<ReadImageResponse> {
  const { absolute } = resolveExisting(store.root, req.project, req.path);
  const meta = await imageSize(absolute);
  const format = req.format === ImageFormat.IMAGE_FORMAT_UNSPECIFIED ? ImageFormat.IMAGE_FORMAT_RAW_RGB : req.format;
  const window = windowOf(req.window, meta.width, meta.height);
  checkOutputSize(window, req.maxSide, req.window !== undefined);
  let pipeline = sharp(absolute, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS });
  if (req.window) pipeline = pipeline.extract(window);
  if (req.maxSide > 0) {
    pipeline = pipeline.resize({ width: req.maxSide, height: req.maxSide, fit: 'inside', withoutEnlargement: true });
  }
  signal.throwIfAborted();
  const { data, info } = await encode(pipeline, format).toBuffer({ resolveWithObject: true })
    .catch(() => { throw notAnImage(); });
  signal.throwIfAborted();
  yield {
    payload: {
      $case: 'info',
      value: {
        width: info.width,
        height: info.height,
        channels: info.channels,
        format,
        sourceWidth: meta.width,
        sourceHeight: meta.height,
        size: data.byteLength,
        window,
      },
    },
  };
  for await (const chunk of toChunks(data, { chunkSize: store.chunkSize })) {
    yield { payload: { $case: 'chunk', value: chunk } };
  }
}

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

const notAnImage = () => invalidField('path', 'is not a readable image');

function checkWindow(window: ImageWindow, width: number, height: number): void {
  if (window.width === 0 || window.height === 0) throw invalidField('window', 'must not be empty');
  if (window.left + window.width > width || window.top + window.height > height) {
    throw invalidField('window', `must lie inside the ${width}×${height} image`);
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
 * An image decoded for a model: optionally cropped to a window (sharp's
 * extract, so tiled formats decode only the tiles it touches), resized so its
 * longer side is at most maxSide (never enlarged), and encoded as raw RGB
 * (the default), PNG or JPEG. Info first, then the bytes as chunks.
 */
export async function* readImage(store: FileStore, req: ReadImageRequest, signal: AbortSignal): AsyncGenerator<ReadImageResponse> {
  const target = await resolveExisting(store.root, req.project, req.path);
  const format = req.format === ImageFormat.IMAGE_FORMAT_UNSPECIFIED ? ImageFormat.IMAGE_FORMAT_RAW_RGB : req.format;
  const source = sharp(target.absolute, { failOn: 'error' });
  const meta = await source.metadata().catch(() => { throw notAnImage(); });
  if (!INPUT_FORMATS.has(meta.format ?? '') || !meta.width || !meta.height) throw notAnImage();
  let pipeline = source;
  if (req.window) {
    checkWindow(req.window, meta.width, meta.height);
    pipeline = pipeline.extract(req.window);
  }
  if (req.maxSide > 0) {
    pipeline = pipeline.resize({ width: req.maxSide, height: req.maxSide, fit: 'inside', withoutEnlargement: true });
  }
  signal.throwIfAborted();
  // The output is at most the decoded window; sharp's limitInputPixels bounds the input.
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
      },
    },
  };
  for await (const chunk of toChunks(data, { chunkSize: store.chunkSize })) {
    yield { payload: { $case: 'chunk', value: chunk } };
  }
}

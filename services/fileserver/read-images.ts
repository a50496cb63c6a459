/**
 * ReadImages: a model's input batch decoded in one call. Several images are
 * decoded at once (libvips runs each on its own threads; a few in flight keep
 * the cores busy while one waits on the disk), answered strictly in request
 * order, a few per message. Memory stays bounded: at most `concurrency`
 * decoded images wait for the client, and a slow client holds the decoding
 * back (gRPC flow control pauses the generator).
 */
import { readFile, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { pMapIterable } from 'p-map';
import sharp from 'sharp';
import { invalidField, isAideError } from '../../libs/errors.js';
import type { DecodedImage, ReadImagesRequest, ReadImagesResponse } from '../../libs/gen/aide/v1/fileserver.js';
import { ImageFormat } from '../../libs/gen/aide/v1/fileserver.js';
import { fsError } from '../../libs/files/fs-errors.js';
import { checkProject, pathSegments, resolveSegments } from '../../libs/files/safe-path.js';
import { imageSize, MAX_INPUT_PIXELS } from './read-image.js';
import type { FileStore } from './store.js';

export const MAX_PATHS = 4096;
/** 1024² RGB is 3 MiB: every image of a call fits one gRPC message (4 MiB). */
export const MAX_SIDE = 1024;
/** Files up to this size are read whole (once for header and pixels); larger ones are streamed by libvips. */
const READ_WHOLE_BYTES = 16 << 20;
/** Images gathered into one message up to this many bytes (fewer, larger messages for small images). */
const MESSAGE_BYTES = 1 << 20;

type Outcome = Omit<DecodedImage, 'index'>;

const failed = (code: 'NOT_FOUND' | 'INVALID_ARGUMENT', message: string): Outcome =>
  ({ result: { $case: 'error', value: { code, message } }, pixels: Buffer.alloc(0) });

/** One image at the requested size, or why it cannot be read; any other failure (I/O, permissions) throws. */
async function decodeOne(store: FileStore, project: string, segments: readonly string[], maxSide: number, squash: boolean): Promise<Outcome> {
  try {
    const { absolute } = resolveSegments(store.root, project, segments);
    // A small file is read once for header and pixels; a large one (an orthoimage at a model's size) stays a
    // path, which libvips streams, so memory holds at most `concurrency` small files.
    const input = await stat(absolute).then(({ size }): Promise<Buffer | string> | string => (size <= READ_WHOLE_BYTES ? readFile(absolute) : absolute))
      .catch((err: unknown) => { throw fsError(err, segments.join('/')); });
    const source = await imageSize(input);
    const resize = squash
      ? { width: maxSide, height: maxSide, fit: 'fill' as const }
      : { width: maxSide, height: maxSide, fit: 'inside' as const, withoutEnlargement: true };
    const { data, info } = await sharp(input, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS })
      .resize(resize).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true })
      .catch(() => { throw invalidField('path', 'is not a readable image'); });
    return {
      result: {
        $case: 'info',
        value: {
          width: info.width, height: info.height, channels: info.channels, format: ImageFormat.IMAGE_FORMAT_RAW_RGB,
          sourceWidth: source.width, sourceHeight: source.height, size: data.byteLength,
          window: { left: 0, top: 0, width: source.width, height: source.height },
        },
      },
      pixels: data,
    };
  } catch (err) {
    if (isAideError(err, 'NOT_FOUND')) return failed('NOT_FOUND', err.message);
    // The reason alone: the image is known by its index, and GetImage's reason for it reads the same.
    if (isAideError(err, 'INVALID_ARGUMENT')) return failed('INVALID_ARGUMENT', err.fieldViolations[0]?.description ?? err.message);
    throw err;
  }
}

export async function* readImages(
  store: FileStore, req: ReadImagesRequest, signal: AbortSignal, concurrency = availableParallelism(),
): AsyncGenerator<ReadImagesResponse> {
  checkProject(req.project);
  if (req.paths.length > MAX_PATHS) throw invalidField('paths', `at most ${MAX_PATHS} a call`);
  if (req.maxSide < 1 || req.maxSide > MAX_SIDE) throw invalidField('max_side', `must be 1 to ${MAX_SIDE}`);
  // Every path is checked before any is decoded: a malformed one refuses the call, it is not an unreadable image.
  const segments = req.paths.map((p, i) => pathSegments(p, `paths[${i}]`));
  const decoded = pMapIterable(segments.entries(), async ([index, s]) => {
    signal.throwIfAborted();
    return { index, ...(await decodeOne(store, req.project, s, req.maxSide, req.squash)) };
  }, { concurrency, backpressure: concurrency });
  let batch: DecodedImage[] = [];
  let bytes = 0;
  for await (const image of decoded) {
    if (bytes + image.pixels.byteLength > MESSAGE_BYTES && batch.length > 0) {
      yield { images: batch };
      batch = [];
      bytes = 0;
    }
    batch.push(image);
    bytes += image.pixels.byteLength;
  }
  if (batch.length > 0) yield { images: batch };
}

/**
 * ReadImages: a model's input batch decoded in one call. Several images are
 * decoded at once (libvips runs each on its own threads; a few in flight keep
 * the cores busy while one waits on the disk), small PNGs in JS instead
 * (small-png.ts: libvips' fixed cost per call dominates there), answered
 * strictly in request order, a few per message. Memory stays bounded: at most `concurrency`
 * decoded images wait for the client, and a slow client holds the decoding
 * back (gRPC flow control pauses the generator). With sizes_only, no pixels: each image's size once the file
 * is checked to read (checked-png.ts for PNGs, a decode at 1 pixel for the rest), for registration.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { setImmediate } from 'node:timers/promises';
import { pMapIterable } from 'p-map';
import sharp from 'sharp';
import { invalidField, isAideError } from '../../libs/errors.js';
import type { DecodedImage, ReadImagesRequest, ReadImagesResponse } from '../../libs/gen/aide/v1/fileserver.js';
import { ImageFormat } from '../../libs/gen/aide/v1/fileserver.js';
import { fsError } from '../../libs/files/fs-errors.js';
import { checkProject, pathSegments, resolveSegments } from '../../libs/files/safe-path.js';
import { checkedPngSize } from './checked-png.js';
import { imageSize, MAX_INPUT_PIXELS } from './read-image.js';
import { resizeToRgb } from './resize.js';
import { decodeSmallPng } from './small-png.js';
import type { FileStore } from './store.js';

export const MAX_PATHS = 4096;
/** 1024² RGB is 3 MiB: every image of a call fits one gRPC message (4 MiB). */
export const MAX_SIDE = 1024;
/** Files up to this size are read whole (once for header and pixels); larger ones are streamed by libvips. */
const READ_WHOLE_BYTES = 16 << 20;
/**
 * Files up to this size are read on the event loop, as safe-path.ts resolves them: open, fstat, read and close
 * there cost ~11 µs of CPU for a 2.5 KB PNG, through fs/promises ~90–160 µs (four trips to libuv's pool, their
 * promises and buffers), more than decoding it in JS. Larger files go through the pool as before.
 */
const READ_ON_LOOP_BYTES = 256 << 10;

/** A file's bytes (read on the loop when small, see READ_ON_LOOP_BYTES), or its path when libvips should stream it. */
async function readInput(absolute: string): Promise<Buffer | string> {
  let size: number;
  const fd = openSync(absolute, 'r');
  try {
    size = fstatSync(fd).size;
    if (size <= READ_ON_LOOP_BYTES) {
      const bytes = Buffer.allocUnsafe(size);
      let read = 0;
      while (read < size) {
        const n = readSync(fd, bytes, read, size - read, read);
        if (n === 0) break; // the file shrank meanwhile: what is there is what it holds
        read += n;
      }
      return bytes.subarray(0, read);
    }
  } finally {
    closeSync(fd);
  }
  return size <= READ_WHOLE_BYTES ? readFile(absolute) : absolute;
}

/** At least this many files are read and checked at once for sizes_only (at most this many files held whole). */
const SIZES_IN_FLIGHT = 8;
/** Images gathered into one message up to this many bytes (fewer, larger messages for small images). */
const MESSAGE_BYTES = 1 << 20;

type Outcome = Omit<DecodedImage, 'index'>;

const failed = (code: 'NOT_FOUND' | 'INVALID_ARGUMENT', message: string): Outcome =>
  ({ result: { $case: 'error', value: { code, message } }, pixels: Buffer.alloc(0) });

/** The answer for one image decoded at the requested size. */
function decoded(pixels: Uint8Array, width: number, height: number, channels: number, source: { width: number; height: number }): Outcome {
  return {
    result: {
      $case: 'info',
      value: {
        width, height, channels, format: ImageFormat.IMAGE_FORMAT_RAW_RGB,
        sourceWidth: source.width, sourceHeight: source.height, size: pixels.byteLength,
        window: { left: 0, top: 0, width: source.width, height: source.height },
      },
    },
    pixels: Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength),
  };
}

/**
 * The size of an image checked to read, without pixels: a PNG without decoding it (checked-png.ts); what that
 * check does not pass is decoded at 1 pixel, which reads it through and says why it cannot be read.
 */
async function sizeOf(input: Buffer | string): Promise<Outcome> {
  const png = typeof input === 'string' ? undefined : await checkedPngSize(input);
  return decoded(new Uint8Array(0), 0, 0, 0, png ?? sourceOf(await decodeWithSharp(input, 1, false)));
}

/** The source size a decode answered (it throws rather than answer an error). */
function sourceOf({ result }: Outcome): { width: number; height: number } {
  if (result?.$case !== 'info') throw new Error(`a decode answered ${result?.$case ?? 'nothing'}`);
  return { width: result.value.sourceWidth, height: result.value.sourceHeight };
}

/**
 * A small PNG decoded and resized in JS, without libvips' fixed cost per call (small-png.ts, resize.ts); undefined
 * when the fast path does not cover the file. It runs on the event loop: it waits its turn behind the I/O and calls
 * already queued, so a batch of them does not hold the server up (each is well under a millisecond at 56×56).
 */
async function decodeSmall(bytes: Buffer, maxSide: number, squash: boolean): Promise<Outcome | undefined> {
  await setImmediate();
  const image = decodeSmallPng(bytes);
  if (!image) return undefined;
  const { data, width, height, channels } = resizeToRgb(image, maxSide, squash);
  return decoded(data, width, height, channels, image);
}

/** Any image sharp reads, at the requested size (exported for bench/fileserver/small-png.ts's reference). */
export async function decodeWithSharp(input: Buffer | string, maxSide: number, squash: boolean): Promise<Outcome> {
  const source = await imageSize(input);
  const resize = squash
    ? { width: maxSide, height: maxSide, fit: 'fill' as const }
    : { width: maxSide, height: maxSide, fit: 'inside' as const, withoutEnlargement: true };
  const { data, info } = await sharp(input, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS })
    .resize(resize).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true })
    .catch(() => { throw invalidField('path', 'is not a readable image'); });
  return decoded(data, info.width, info.height, info.channels, source);
}

/** One image at the requested size (or only its size), or why it cannot be read; any other failure (I/O, permissions) throws. */
async function decodeOne(store: FileStore, project: string, segments: readonly string[], req: ReadImagesRequest): Promise<Outcome> {
  const { maxSide, squash, sizesOnly } = req;
  try {
    const { absolute } = resolveSegments(store.root, project, segments);
    // A small file is read once for header and pixels; a large one (an orthoimage at a model's size) stays a
    // path, which libvips streams, so memory holds at most `concurrency` small files.
    const input = await readInput(absolute).catch((err: unknown) => { throw fsError(err, segments.join('/')); });
    if (sizesOnly) return await sizeOf(input);
    return (typeof input === 'string' ? undefined : await decodeSmall(input, maxSide, squash)) ?? await decodeWithSharp(input, maxSide, squash);
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
  if (!req.sizesOnly && (req.maxSide < 1 || req.maxSide > MAX_SIDE)) throw invalidField('max_side', `must be 1 to ${MAX_SIDE}`);
  // Every path is checked before any is decoded: a malformed one refuses the call, it is not an unreadable image.
  const segments = req.paths.map((p, i) => pathSegments(p, `paths[${i}]`));
  // A size check waits on the disk more than it computes (checked-png.ts: tens of µs a small PNG), so more are in flight.
  const inFlight = req.sizesOnly ? Math.max(concurrency, SIZES_IN_FLIGHT) : concurrency;
  const decoded = pMapIterable(segments.entries(), async ([index, s]) => {
    signal.throwIfAborted();
    return { index, ...(await decodeOne(store, req.project, s, req)) };
  }, { concurrency: inFlight, backpressure: inFlight });
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

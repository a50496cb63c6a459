/**
 * A PNG's size, with the file checked to read as a whole, without decoding its pixels: what registration needs
 * (ReadImages' sizes_only). A decode through sharp costs ~0.4–2 ms per small image, most of it libvips' fixed
 * cost and the unfiltering; this check inflates the pixel data natively (zlib, which also checks the stream's
 * Adler-32) and costs a few tens of µs at 56×56.
 *
 * It only ever says "readable": every way it knows a file to be broken, and everything it does not cover,
 * answers undefined, and the caller decodes the file with sharp, which then decides (and words the reason)
 * exactly as a decode would. So it must never pass a file sharp rejects; test/fileserver/checked-png.test.ts
 * holds it to that on truncations and corruptions of every byte. What libpng (sharp's PNG reader) rejects and
 * this therefore checks: a bad CRC or a truncated critical chunk, an unknown critical chunk, IDAT chunks not
 * consecutive, a palette image without a well-formed PLTE, pixel data that inflates short or fails its
 * checksum, a scanline filter other than 0–4. Stricter than libpng, so left to sharp: a bad CRC on an
 * ancillary chunk, pixel data that inflates long, interlaced images (their passes), images larger than
 * CHECK_MAX_BYTES of pixel data or MAX_INPUT_PIXELS.
 */
import { promisify } from 'node:util';
import { crc32, inflate, inflateSync } from 'node:zlib';
import { MAX_INPUT_PIXELS } from './read-image.js';

/** Pixel data is inflated in memory up to this size; larger images are left to sharp, which streams them. */
const CHECK_MAX_BYTES = 64 << 20;
/**
 * Pixel data up to this size is inflated on the event loop (tens of µs: less than a trip to libuv's threads);
 * larger, on those threads, so a large image does not hold up the server's other calls.
 */
const SYNC_INFLATE_BYTES = 256 << 10;

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const CRITICAL = new Set(['IHDR', 'PLTE', 'IDAT', 'IEND']);
const COLOUR_PALETTE = 3;
/** Samples per pixel by colour type, and the bit depths each allows (the PNG specification, table 11.1). */
const COLOUR_TYPES = new Map<number, { samples: number; depths: readonly number[] }>([
  [0, { samples: 1, depths: [1, 2, 4, 8, 16] }],
  [2, { samples: 3, depths: [8, 16] }],
  [3, { samples: 1, depths: [1, 2, 4, 8] }],
  [4, { samples: 2, depths: [8, 16] }],
  [6, { samples: 4, depths: [8, 16] }],
]);
const MAX_FILTER = 4;

const inflateAsync = promisify(inflate);

interface Chunk {
  type: string;
  data: Buffer;
}

/** The chunks up to IEND (or the end of the file), each whole and with its CRC right; undefined otherwise. */
function chunksOf(bytes: Buffer): Chunk[] | undefined {
  const chunks: Chunk[] = [];
  for (let at = SIGNATURE.length; at < bytes.length;) {
    if (at + 12 > bytes.length) return undefined;
    const length = bytes.readUInt32BE(at);
    const end = at + 8 + length;
    if (end + 4 > bytes.length || crc32(bytes.subarray(at + 4, end)) !== bytes.readUInt32BE(end)) return undefined;
    const chunk = { type: bytes.toString('latin1', at + 4, at + 8), data: bytes.subarray(at + 8, end) };
    chunks.push(chunk);
    if (chunk.type === 'IEND') break;
    at = end + 4;
  }
  return chunks;
}

interface Layout {
  width: number;
  height: number;
  /** Bytes of one scanline after its filter byte. */
  stride: number;
  /** The pixel data, still deflated: the IDAT chunks' contents, in order. */
  deflated: Buffer;
}

/** What the chunks say about the pixel data, where libpng would read them; undefined otherwise. */
function layoutOf(chunks: readonly Chunk[]): Layout | undefined {
  const ihdr = chunks[0];
  if (ihdr?.type !== 'IHDR' || ihdr.data.length !== 13) return undefined;
  const width = ihdr.data.readUInt32BE(0);
  const height = ihdr.data.readUInt32BE(4);
  const [bitDepth, colourType, compression, filter, interlace] = ihdr.data.subarray(8);
  const colour = COLOUR_TYPES.get(colourType!);
  if (!colour?.depths.includes(bitDepth!) || compression !== 0 || filter !== 0 || interlace !== 0) return undefined;
  if (width === 0 || height === 0 || width * height > MAX_INPUT_PIXELS) return undefined;
  const types = chunks.map((c) => c.type);
  if (types.some((t) => !CRITICAL.has(t) && t.charCodeAt(0) < 0x61)) return undefined; // an unknown critical chunk
  const first = types.indexOf('IDAT');
  const count = types.filter((t) => t === 'IDAT').length;
  if (first < 0 || types.lastIndexOf('IDAT') !== first + count - 1) return undefined;
  if (colourType === COLOUR_PALETTE) {
    const plte = chunks.slice(0, first).find((c) => c.type === 'PLTE');
    if (!plte || plte.data.length === 0 || plte.data.length % 3 !== 0 || plte.data.length > 256 * 3) return undefined;
  }
  const stride = Math.ceil((width * colour.samples * bitDepth!) / 8);
  return { width, height, stride, deflated: Buffer.concat(chunks.slice(first, first + count).map((c) => c.data)) };
}

/** zlib's options for pixel data of `expected` bytes: data that inflates longer throws (ERR_BUFFER_TOO_LARGE) before it takes more memory than the image's. */
const bounded = (expected: number) => ({ maxOutputLength: expected });

/** The pixel data inflated on this thread to exactly `expected` bytes, its checksum right; undefined otherwise. */
function inflatedHere(deflated: Buffer, expected: number): Buffer | undefined {
  try {
    const out = inflateSync(deflated, bounded(expected));
    return out.length === expected ? out : undefined;
  } catch {
    return undefined;
  }
}

/** inflatedHere, on libuv's threads when the data is large. */
async function inflated(deflated: Buffer, expected: number): Promise<Buffer | undefined> {
  if (expected <= SYNC_INFLATE_BYTES) return inflatedHere(deflated, expected);
  try {
    const out = await inflateAsync(deflated, bounded(expected));
    return out.length === expected ? out : undefined;
  } catch {
    return undefined;
  }
}

/** The chunks checked and read as above: the layout of a PNG this check covers and its pixel data's size; undefined otherwise. */
function readChunks(bytes: Buffer): (Layout & { expected: number }) | undefined {
  if (bytes.length < SIGNATURE.length || !bytes.subarray(0, SIGNATURE.length).equals(SIGNATURE)) return undefined;
  const chunks = chunksOf(bytes);
  const layout = chunks && layoutOf(chunks);
  if (!layout) return undefined;
  const expected = layout.height * (layout.stride + 1);
  return expected > CHECK_MAX_BYTES ? undefined : { ...layout, expected };
}

/**
 * The width and height of the PNG in `bytes` once its chunks, its pixel data's length and checksum and its
 * scanlines' filters are checked; undefined when it is not a PNG this check covers or not a readable one
 * (sharp decides which, see above).
 */
export async function checkedPngSize(bytes: Buffer): Promise<{ width: number; height: number } | undefined> {
  const png = readChunks(bytes);
  const pixels = png && await inflated(png.deflated, png.expected);
  if (!png || !pixels) return undefined;
  for (let row = 0; row < png.expected; row += png.stride + 1) {
    if (pixels[row]! > MAX_FILTER) return undefined;
  }
  return { width: png.width, height: png.height };
}

/**
 * The same checks of the chunks, and the pixel data inflated on this thread, still filtered (each scanline
 * after its filter byte), for a decoder of small PNGs (small-png.ts, which unfilters and checks the filter
 * types itself); undefined as for checkedPngSize.
 */
export function inflatedPng(bytes: Buffer): { width: number; height: number; stride: number; data: Buffer } | undefined {
  const png = readChunks(bytes);
  const data = png && inflatedHere(png.deflated, png.expected);
  return png && data && { width: png.width, height: png.height, stride: png.stride, data };
}

/**
 * Small PNGs decoded in JS (pngjs: inflate and unfilter, no native call). libvips' fixed cost per image
 * (a metadata call, then a pipeline to build and run) dominates below a few hundred pixels a side: a 56×56 PNG
 * to 32×32 costs ~2 ms of CPU through sharp, ~0.43 ms here (bench/fileserver/small-png.ts).
 *
 * Only what decodes to the same pixels as sharp comes this way; everything else is left to sharp (undefined):
 * 16-bit samples (libvips resizes them before dropping to 8 bits), greys of 1–4 bits, an embedded ICC profile
 * (sharp converts to sRGB through it), a transparent colour key (tRNS on grey or RGB), images over
 * SMALL_PNG_MAX_PIXELS, and anything pngjs rejects — sharp then decides whether the file is readable at all, so
 * an unreadable file is answered exactly as before.
 */
import { PNG } from 'pngjs';
import type { RawImage } from './resize.js';

/**
 * Larger images go to libvips: its fixed cost no longer dominates, and its SIMD resize beats JS's arithmetic
 * (bench/fileserver/small-png.ts, CPU per image to 32×32: JS 5.1× cheaper at 56², 1.8× at 128², 1.4× at 192²,
 * 0.9× at 256²).
 */
export const SMALL_PNG_MAX_PIXELS = 192 * 192;

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const COLOUR_PALETTE = 3;

interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colourType: number;
  /** The chunk types before the pixels (IDAT). */
  chunks: Set<string>;
}

/** IHDR's fields and the chunk types before the first IDAT; undefined when the bytes do not start as a PNG does. */
function readHeader(bytes: Buffer): PngHeader | undefined {
  if (bytes.length < 33 || !bytes.subarray(0, 8).equals(SIGNATURE) || bytes.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  const chunks = new Set<string>();
  for (let at = 8; at + 8 <= bytes.length; at += 12 + bytes.readUInt32BE(at)) {
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') break;
    chunks.add(type);
  }
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20), bitDepth: bytes[24]!, colourType: bytes[25]!, chunks };
}

/** Whether the fast path decodes these bytes to what sharp would. */
function covered(header: PngHeader, maxPixels: number): boolean {
  const { width, height, bitDepth, colourType, chunks } = header;
  if (width === 0 || height === 0 || width * height > maxPixels || chunks.has('iCCP')) return false;
  // A transparent colour key (tRNS on grey or RGB): pngjs blackens those pixels, sharp keeps their colour.
  if (chunks.has('tRNS') && colourType !== COLOUR_PALETTE) return false;
  // 8-bit samples of any colour type, and palette indices of any width (their colours are 8-bit).
  return bitDepth === 8 || colourType === COLOUR_PALETTE;
}

/** RGBA bytes to RGB when every pixel is opaque (sharp's alpha steps change nothing then); RGBA otherwise. */
function compact(width: number, height: number, rgba: Buffer): RawImage {
  for (let p = 3; p < rgba.length; p += 4) {
    if (rgba[p] !== 255) return { width, height, channels: 4, data: rgba };
  }
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    rgb[q] = rgba[p]!;
    rgb[q + 1] = rgba[p + 1]!;
    rgb[q + 2] = rgba[p + 2]!;
  }
  return { width, height, channels: 3, data: rgb };
}

/**
 * The pixels of a small PNG, 8 bits a sample (RGB, or RGBA when some pixel is not opaque), or undefined when this
 * is not one the fast path covers (then sharp reads it, or says it is not a readable image).
 */
export function decodeSmallPng(bytes: Buffer, maxPixels = SMALL_PNG_MAX_PIXELS): RawImage | undefined {
  const header = readHeader(bytes);
  if (!header || !covered(header, maxPixels)) return undefined;
  try {
    const png = PNG.sync.read(bytes);
    return compact(png.width, png.height, png.data);
  } catch {
    return undefined;
  }
}

/**
 * Small PNGs decoded in JS (zlib's inflate and a JS unfilter for the common types, pngjs for palettes, fewer
 * bits and interlacing). libvips' fixed cost per image (a metadata call, then a pipeline to build and run)
 * dominates below a few hundred pixels a side: a 56×56 PNG to 32×32 costs ~1.7 ms of CPU through sharp, ~0.07 ms
 * here with resize.ts (bench/fileserver/small-png.ts).
 *
 * Only what decodes to the same pixels as sharp comes this way; everything else is left to sharp (undefined):
 * 16-bit samples (libvips resizes them before dropping to 8 bits), greys of 1–4 bits, an embedded ICC profile
 * (sharp converts to sRGB through it), a transparent colour key (tRNS on grey or RGB), images over
 * SMALL_PNG_MAX_PIXELS, and anything pngjs rejects — sharp then decides whether the file is readable at all, so
 * an unreadable file is answered exactly as before.
 */
import { PNG } from 'pngjs';
import { inflatedPng } from './checked-png.js';
import type { RawImage } from './resize.js';

/**
 * Larger images go to libvips: its fixed cost no longer dominates, and its resize beats ours where a box shrink
 * (in JS) does most of the work (bench/fileserver/small-png.ts, CPU per image to 32×32: this path 23× cheaper
 * at 56², 3.8× at 128², 1.6× at 256², 0.9× at 384²).
 */
export const SMALL_PNG_MAX_PIXELS = 256 * 256;

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

/** Bytes a pixel of the 8-bit, non-interlaced colour types decoded here: grey, RGB, grey + alpha, RGBA. */
const PIXEL_BYTES: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/** The Paeth predictor of PNG's filter type 4. */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** The scanlines unfiltered in place (PNG's five filter types); false on an unknown filter type. */
function unfilter(data: Buffer, height: number, stride: number, bpp: number): boolean {
  for (let y = 0; y < height; y++) {
    const line = y * (stride + 1) + 1;
    const up = line - stride - 1;
    const filter = data[line - 1]!;
    if (filter === 0) continue;
    if (filter > 4) return false;
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? data[line + x - bpp]! : 0;
      const b = y > 0 ? data[up + x]! : 0;
      const c = x >= bpp && y > 0 ? data[up + x - bpp]! : 0;
      const predicted = filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : paeth(a, b, c);
      data[line + x] = (data[line + x]! + predicted) & 0xff;
    }
  }
  return true;
}

/**
 * The common small PNG (8-bit grey, RGB or either with alpha, not interlaced) decoded with zlib's native inflate
 * and a JS unfilter: about a third of pngjs's cost, which expands every pixel to RGBA first. 'other' for what it
 * leaves to pngjs (palettes, fewer bits, interlacing); undefined for a file checked-png.ts does not pass (a bad
 * CRC, a stream that does not inflate to the image's size, …), which sharp then judges.
 */
function decodeCommon(bytes: Buffer, header: PngHeader): RawImage | 'other' | undefined {
  const { width, height, bitDepth, colourType } = header;
  const bpp = PIXEL_BYTES[colourType];
  if (bitDepth !== 8 || bpp === undefined || bytes[28] !== 0) return 'other';
  // The chunks and their CRCs checked, the pixel data inflated to exactly its size (checked-png.ts's checks).
  const png = inflatedPng(bytes);
  if (!png) return undefined;
  const { stride, data } = png;
  if (!unfilter(data, height, stride, bpp)) return undefined;
  const alpha = colourType === 4 || colourType === 6;
  // As compact(): RGBA only when some pixel is not opaque (sharp's alpha steps change nothing otherwise).
  let opaque = true;
  for (let y = 0; alpha && opaque && y < height; y++) {
    const line = y * (stride + 1) + 1;
    for (let i = line + bpp - 1; i < line + stride; i += bpp) {
      if (data[i] !== 255) {
        opaque = false;
        break;
      }
    }
  }
  const channels = alpha && !opaque ? 4 : 3;
  const out = new Uint8Array(width * height * channels);
  const colour = colourType === 2 || colourType === 6;
  for (let y = 0, o = 0; y < height; y++) {
    for (let i = y * (stride + 1) + 1, end = i + stride; i < end; i += bpp, o += channels) {
      out[o] = data[i]!;
      out[o + 1] = colour ? data[i + 1]! : data[i]!;
      out[o + 2] = colour ? data[i + 2]! : data[i]!;
      if (channels === 4) out[o + 3] = data[i + bpp - 1]!;
    }
  }
  return { width, height, channels, data: out };
}

/**
 * The pixels of a small PNG, 8 bits a sample (RGB, or RGBA when some pixel is not opaque), or undefined when this
 * is not one the fast path covers (then sharp reads it, or says it is not a readable image).
 */
export function decodeSmallPng(bytes: Buffer, maxPixels = SMALL_PNG_MAX_PIXELS): RawImage | undefined {
  const header = readHeader(bytes);
  if (!header || !covered(header, maxPixels)) return undefined;
  const common = decodeCommon(bytes, header);
  if (common !== 'other') return common;
  try {
    const png = PNG.sync.read(bytes);
    return compact(png.width, png.height, png.data);
  } catch {
    return undefined;
  }
}

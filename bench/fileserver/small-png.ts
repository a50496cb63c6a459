/**
 * ReadImages' two decoders on the same PNGs, in the same run: sharp (libvips: a metadata call, then decode,
 * resize and raw RGB; `decodeWithSharp`) against the fast path (pngjs and resize.ts), as CPU time per image
 * (process.cpuUsage counts every thread, libvips' included), one image at a time. The PNGs are those of
 * bench/scale/data-path.ts (bench/support/noise-pngs.ts: ~10 KB at 56×56) at several sides, to a model's 32×32
 * (squashed) and to 1×1 (registration's size read): where JS stops winning sets SMALL_PNG_MAX_PIXELS.
 *
 *   node --import tsx bench/fileserver/small-png.ts [images=1000] [rounds=3]
 *
 * Prints a table and `figure <name> <value>` lines for 56×56 → 32×32 (medians of the rounds).
 */
import { decodeWithSharp } from '../../services/fileserver/read-images.js';
import { resizeToRgb } from '../../services/fileserver/resize.js';
import { decodeSmallPng, SMALL_PNG_MAX_PIXELS } from '../../services/fileserver/small-png.js';
import { noisePngs } from '../support/noise-pngs.js';

const images = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 3);
const DISTINCT = 32;

/** data-path.ts's images at `side`: noise, reddish or bluish. */
const pngsOf = (side: number) => noisePngs(DISTINCT, side);

const fast = async (png: Buffer, maxSide: number, squash: boolean) => {
  const image = decodeSmallPng(png, Infinity);
  if (!image) throw new Error('not taken by the fast path');
  return resizeToRgb(image, maxSide, squash);
};
const viaSharp = (png: Buffer, maxSide: number, squash: boolean) => decodeWithSharp(png, maxSide, squash);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** CPU µs per image, all threads, the median of the rounds. */
async function cpuPerImage(decode: (png: Buffer, maxSide: number, squash: boolean) => Promise<unknown>, pngs: Buffer[], maxSide: number): Promise<number> {
  for (let i = 0; i < 100; i++) await decode(pngs[i % pngs.length]!, maxSide, true); // warm-up
  const perImage: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const before = process.cpuUsage();
    for (let i = 0; i < images; i++) await decode(pngs[i % pngs.length]!, maxSide, true);
    const { user, system } = process.cpuUsage(before);
    perImage.push((user + system) / images);
  }
  return median(perImage);
}

const rows: Array<{ side: number; maxSide: number; bytes: number; sharpUs: number; fastUs: number }> = [];
for (const [side, maxSide] of [[28, 32], [56, 32], [56, 1], [96, 32], [128, 32], [192, 32], [256, 32], [384, 32], [512, 32]] as const) {
  const pngs = await pngsOf(side);
  const bytes = pngs.reduce((sum, p) => sum + p.length, 0) / pngs.length;
  rows.push({ side, maxSide, bytes, sharpUs: await cpuPerImage(viaSharp, pngs, maxSide), fastUs: await cpuPerImage(fast, pngs, maxSide) });
}

console.log(`fast path bound: ${SMALL_PNG_MAX_PIXELS} pixels (${Math.sqrt(SMALL_PNG_MAX_PIXELS)}² )`);
console.log('| PNG | bytes | to | sharp µs CPU/image | fast µs CPU/image | sharp ÷ fast |\n|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.side}×${r.side} | ${r.bytes.toFixed(0)} | ${r.maxSide}×${r.maxSide} | ${r.sharpUs.toFixed(0)} | ${r.fastUs.toFixed(0)} | ${(r.sharpUs / r.fastUs).toFixed(2)} |`);
}
const headline = rows.find((r) => r.side === 56 && r.maxSide === 32)!;
console.log(`figure small_png_decode_us_sharp ${headline.sharpUs.toFixed(0)}`);
console.log(`figure small_png_decode_us_fast ${headline.fastUs.toFixed(0)}`);
console.log(`figure small_png_decode_speedup ${(headline.sharpUs / headline.fastUs).toFixed(2)}`);

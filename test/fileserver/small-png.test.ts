/**
 * ReadImages' fast path for small PNGs (pngjs + resize.ts) against sharp on the same files: the same size and
 * channels, and pixels within MAX_DIFFERENCE per channel (mean within MEAN_DIFFERENCE) — shrunk, enlarged,
 * squashed and fitted inside, RGB, RGBA with partial alpha, grey, grey with alpha, palettes and interlaced
 * files; what the fast path leaves to sharp (16-bit, ICC profiles, colour keys, large or broken files) is
 * refused by it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import seedrandom from 'seedrandom';
import sharp, { type PngOptions } from 'sharp';
import { resizeToRgb } from '../../services/fileserver/resize.js';
import { decodeSmallPng, SMALL_PNG_MAX_PIXELS } from '../../services/fileserver/small-png.js';

/** The bound a model trained on sharp's pixels and predicting on these (or the other way) does not notice. */
const MAX_DIFFERENCE = 2;
const MEAN_DIFFERENCE = 0.25;

/** Aerial-ish content: gradients, a few hard edges and noise, so every kernel tap matters. */
function texture(width: number, height: number, channels: 3 | 4, seed: string): Buffer {
  const random = seedrandom(seed);
  const raw = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const edge = (x > width / 3 && y < (2 * height) / 3) ? 90 : 0;
      const at = (y * width + x) * channels;
      for (let c = 0; c < 3; c++) {
        const v = (x * (3 + c) + y * (5 - c)) % 160 + edge + Math.floor(random() * 40) - 20;
        raw[at + c] = Math.max(0, Math.min(255, v));
      }
      if (channels === 4) raw[at + 3] = Math.floor(random() * 256) | (x % 7 === 0 ? 255 : 0);
    }
  }
  return raw;
}

const png = (width: number, height: number, channels: 3 | 4, options: PngOptions = {}, seed = 'tile') =>
  sharp(texture(width, height, channels, seed), { raw: { width, height, channels } }).png(options).toBuffer();

async function viaSharp(file: Buffer, maxSide: number, squash: boolean) {
  const resize = squash ? { width: maxSide, height: maxSide, fit: 'fill' as const } : { width: maxSide, height: maxSide, fit: 'inside' as const, withoutEnlargement: true };
  const { data, info } = await sharp(file).resize(resize).removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: info.channels, data };
}

async function assertLikeSharp(file: Buffer, maxSide: number, squash: boolean, what: string): Promise<void> {
  // Past the pixel bound too: the resize's agreement with sharp does not depend on it.
  const decoded = decodeSmallPng(file, Infinity);
  assert.ok(decoded, `${what}: taken by the fast path`);
  const fast = resizeToRgb(decoded, maxSide, squash);
  const reference = await viaSharp(file, maxSide, squash);
  assert.deepEqual([fast.width, fast.height, fast.channels], [reference.width, reference.height, reference.channels], `${what}: size`);
  let worst = 0;
  let total = 0;
  for (let i = 0; i < reference.data.length; i++) {
    const d = Math.abs(fast.data[i]! - reference.data[i]!);
    worst = Math.max(worst, d);
    total += d;
  }
  const mean = total / reference.data.length;
  assert.ok(worst <= MAX_DIFFERENCE && mean <= MEAN_DIFFERENCE, `${what}: max difference ${worst}, mean ${mean.toFixed(3)}`);
}

/** A PNG of the given channels of a 56×56 RGBA texture, checked to be of PNG colour type `colourType`. */
async function channelsOf(rgba: Buffer, picked: number[], colourType: number): Promise<Buffer> {
  const raw = Buffer.alloc(56 * 56 * picked.length);
  for (let p = 0; p < 56 * 56; p++) picked.forEach((c, k) => { raw[p * picked.length + k] = rgba[p * 4 + c]!; });
  const image = sharp(raw, { raw: { width: 56, height: 56, channels: picked.length as 1 | 2 | 4 } });
  const file = await (picked.length <= 2 ? image.toColourspace('b-w') : image).png().toBuffer();
  assert.equal(file[25], colourType, `IHDR colour type of the ${picked.length}-channel file`);
  return file;
}

describe('small PNGs decoded in JS', () => {
  // [source width, height, max_side, squash]: shrinking by less than 2, by 1.5 (rint's half-even), by 8 (a box
  // shrink first), to one pixel (registration), enlarging, one axis up and one down, and fitted without enlarging.
  const cases: Array<[number, number, number, boolean]> = [
    [56, 56, 32, false], [56, 56, 32, true], [56, 40, 32, false], [48, 48, 32, true], [256, 256, 32, false],
    [200, 150, 1, false], [200, 150, 1, true], [300, 100, 60, false], [12, 9, 8, true], [12, 9, 60, true],
    [9, 13, 300, true], [40, 20, 32, true], [20, 30, 45, false], [97, 61, 28, true], [33, 200, 64, false],
  ];

  it('RGB: the same size and pixels as sharp, shrunk, enlarged, squashed and fitted inside', async () => {
    for (const [width, height, maxSide, squash] of cases) {
      await assertLikeSharp(await png(width, height, 3), maxSide, squash, `RGB ${width}×${height} → ${maxSide}${squash ? ' squashed' : ''}`);
    }
  });

  it('RGBA with partial alpha: premultiplied while resized and dropped after, as sharp does', async () => {
    for (const [width, height, maxSide, squash] of cases) {
      await assertLikeSharp(await png(width, height, 4), maxSide, squash, `RGBA ${width}×${height} → ${maxSide}${squash ? ' squashed' : ''}`);
    }
  });

  it('grey, grey with alpha, palettes of 2 to 256 colours and interlaced files decode to the same RGB', async () => {
    const raw = texture(56, 56, 4, 'kinds');
    const from = (channels: 3 | 4) => sharp(channels === 4 ? raw : texture(56, 56, 3, 'kinds'), { raw: { width: 56, height: 56, channels } });
    const files: Array<[string, Buffer]> = [
      ['grey', await from(3).greyscale().png().toBuffer()],
      ['grey with alpha', await from(4).greyscale().png().toBuffer()],
      ['palette of 256', await from(3).png({ palette: true, colours: 256 }).toBuffer()],
      ['palette of 4 (2 bits)', await from(3).png({ palette: true, colours: 4 }).toBuffer()],
      ['palette with transparency', await from(4).png({ palette: true }).toBuffer()],
      ['interlaced', await from(3).png({ progressive: true }).toBuffer()],
      // sharp writes the greys above as RGB; these are PNG's own grey types (0 and 4), and RGBA with no
      // transparent pixel (colour type 6, decoded to RGB).
      ['grey, colour type 0', await channelsOf(raw, [0], 0)],
      ['grey with alpha, colour type 4', await channelsOf(raw, [0, 3], 4)],
      ['RGBA, every pixel opaque', await channelsOf(Buffer.from(raw.map((v, i) => (i % 4 === 3 ? 255 : v))), [0, 1, 2, 3], 6)],
    ];
    for (const [what, file] of files) {
      for (const [maxSide, squash] of [[32, false], [24, true], [56, false], [90, true]] as const) {
        await assertLikeSharp(file, maxSide, squash, `${what} → ${maxSide}${squash ? ' squashed' : ''}`);
      }
    }
  });

  it('left to sharp: 16-bit samples, an ICC profile, a colour key, more than the pixel bound, broken or non-PNG bytes', async () => {
    const rgb = texture(40, 40, 3, 'left');
    const file = await png(40, 40, 3);
    assert.ok(decodeSmallPng(file), 'the plain file is taken');
    assert.equal(decodeSmallPng(await sharp(rgb, { raw: { width: 40, height: 40, channels: 3 } }).toColourspace('rgb16').png().toBuffer()), undefined, '16-bit');
    assert.equal(decodeSmallPng(await sharp(rgb, { raw: { width: 40, height: 40, channels: 3 } }).withIccProfile('p3').png().toBuffer()), undefined, 'ICC profile');
    // A colour key (tRNS on RGB) after IHDR: pngjs would blacken those pixels where sharp keeps their colour.
    const key = Buffer.from([...Buffer.from('tRNS'), 0, rgb[0]!, 0, rgb[1]!, 0, rgb[2]!]);
    const trns = Buffer.concat([Buffer.from([0, 0, 0, 6]), key, Buffer.alloc(4)]);
    trns.writeUInt32BE(crc32(key), 14);
    assert.equal(decodeSmallPng(Buffer.concat([file.subarray(0, 33), trns, file.subarray(33)])), undefined, 'a colour key');
    const side = Math.floor(Math.sqrt(SMALL_PNG_MAX_PIXELS)) + 1;
    assert.equal(decodeSmallPng(await png(side, side, 3)), undefined, 'over the pixel bound');
    assert.equal(decodeSmallPng(file.subarray(0, file.length >> 1)), undefined, 'truncated');
    const corrupt = Buffer.from(file);
    corrupt[corrupt.length - 20] ^= 0xff; // inside the last IDAT: its CRC no longer matches
    assert.equal(decodeSmallPng(corrupt), undefined, 'a bad CRC');
    assert.equal(decodeSmallPng(await sharp(rgb, { raw: { width: 40, height: 40, channels: 3 } }).jpeg().toBuffer()), undefined, 'JPEG');
  });
});

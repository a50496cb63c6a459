/**
 * checked-png.ts: a PNG's size without decoding it, for ReadImages' sizes_only. It may leave any file to sharp,
 * but must never pass one sharp cannot read: held to that on truncations at every byte and on damage to every
 * byte of every chunk with the CRCs made right again (so only the deeper checks can catch it).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { checkedPngSize } from '../../services/fileserver/checked-png.js';
import { decodeWithSharp } from '../../services/fileserver/read-images.js';
import { pngChunks, pngOf, withPixelData } from '../support/png-chunks.js';

/** Deterministic noise, so the pixel data does not compress away. */
function noise(width: number, height: number, channels: 3 | 4): Buffer {
  return Buffer.from(Array.from({ length: width * height * channels }, (_, i) => (Math.imul(i + 1, 2654435761) >>> 24)));
}
const rgb = (width: number, height: number) => sharp(noise(width, height, 3), { raw: { width, height, channels: 3 } });

async function fixtures(): Promise<Record<string, Buffer>> {
  return {
    rgb: await rgb(24, 16).png().toBuffer(),
    rgba: await sharp(noise(20, 12, 4), { raw: { width: 20, height: 12, channels: 4 } }).png().toBuffer(),
    grey: await rgb(17, 9).greyscale().png().toBuffer(),
    rgb16: await rgb(9, 7).toColourspace('rgb16').png().toBuffer(),
    palette4: await rgb(19, 11).png({ palette: true, colours: 16 }).toBuffer(),
    palette1: await rgb(13, 5).png({ palette: true, colours: 2 }).toBuffer(),
    // Several IDAT chunks (libpng splits them), read as one stream.
    large: await rgb(160, 120).png({ compressionLevel: 1 }).toBuffer(),
  };
}

/** Whether sharp reads the file through, and at what size (ReadImages' decode at 1 pixel). */
async function sharpReads(png: Buffer): Promise<{ width: number; height: number } | undefined> {
  try {
    const { result } = await decodeWithSharp(png, 1, false);
    return result?.$case === 'info' ? { width: result.value.sourceWidth, height: result.value.sourceHeight } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Damaged copies of a PNG, by name, every `step`-th byte: cut there; inverted there (the CRCs as they were);
 * each chunk's data inverted there with the chunk's CRC made right.
 */
function* damaged(png: Buffer, step: number): Generator<[string, Buffer]> {
  for (let at = 0; at < png.length; at += step) {
    yield [`cut at ${at}`, png.subarray(0, at)];
    const inverted = Buffer.from(png);
    inverted[at] = inverted[at]! ^ 0xff;
    yield [`byte ${at} inverted`, inverted];
  }
  const chunks = pngChunks(png);
  for (const [k, chunk] of chunks.entries()) {
    for (let at = 0; at < chunk.data.length; at += step) {
      const data = Buffer.from(chunk.data);
      data[at] = data[at]! ^ 0xff;
      yield [`${chunk.type} byte ${at} inverted`, pngOf(chunks.map((c, j) => (j === k ? { type: c.type, data } : c)))];
    }
  }
}

/** The PNG with its IDAT chunk split in two around a text chunk: libpng wants them consecutive. */
function withSplitIdat(png: Buffer): Buffer {
  return pngOf(pngChunks(png).flatMap((c) => (c.type === 'IDAT'
    ? [{ type: 'IDAT', data: c.data.subarray(0, 5) }, { type: 'tEXt', data: Buffer.from('a\0b') }, { type: 'IDAT', data: c.data.subarray(5) }]
    : [c])));
}

describe('checkedPngSize', () => {
  it('sizes the PNGs it covers without decoding them, as sharp reads them; interlaced ones are left to sharp', async () => {
    const all = await fixtures();
    assert.ok(pngChunks(all.large!).filter((c) => c.type === 'IDAT').length > 1, 'the large fixture has several IDAT chunks');
    for (const [name, png] of Object.entries(all)) {
      assert.deepEqual(await checkedPngSize(png), await sharpReads(png), name);
    }
    const interlaced = await rgb(24, 16).png({ progressive: true }).toBuffer();
    assert.equal(await checkedPngSize(interlaced), undefined);
    assert.deepEqual(await sharpReads(interlaced), { width: 24, height: 16 });
  });

  it('catches what the CRCs do not: pixel data cut short or with a bad filter, a wrong header, misplaced chunks', async () => {
    const { rgb: png, palette4 } = await fixtures();
    const ihdr = (edit: (data: Buffer) => void) => pngOf(pngChunks(png!).map((c) => {
      if (c.type !== 'IHDR') return c;
      const data = Buffer.from(c.data);
      edit(data);
      return { type: c.type, data };
    }));
    const broken: Record<string, Buffer> = {
      'pixel data one byte short': withPixelData(png!, (raw) => raw.subarray(0, raw.length - 1)),
      'a scanline filter of 5': withPixelData(png!, (raw) => { const out = Buffer.from(raw); out[0] = 5; return out; }),
      'one row more in the header': ihdr((data) => data.writeUInt32BE(17, 4)),
      'a bit depth of 3': ihdr((data) => { data[8] = 3; }),
      'palette image without PLTE': pngOf(pngChunks(palette4!).filter((c) => c.type !== 'PLTE')),
      'an unknown critical chunk': pngOf(pngChunks(png!).flatMap((c) => (c.type === 'IHDR' ? [c, { type: 'ABCD', data: Buffer.alloc(3) }] : [c]))),
      'IDAT chunks apart': withSplitIdat(png!),
    };
    for (const [name, bad] of Object.entries(broken)) {
      assert.equal(await checkedPngSize(bad), undefined, name);
      assert.equal(await sharpReads(bad), undefined, `${name}: sharp does not read it either`);
    }
  });

  it('never passes a PNG sharp cannot read: cut at every byte, every byte of every chunk damaged', async () => {
    let passed = 0;
    for (const [fixture, png] of Object.entries(await fixtures())) {
      for (const [how, bad] of damaged(png, fixture === 'large' ? 97 : 1)) {
        const size = await checkedPngSize(bad);
        if (!size) continue;
        passed++;
        assert.deepEqual(await sharpReads(bad), size, `${fixture}, ${how}: passed the check, so sharp must read it at that size`);
      }
    }
    // Damage sharp ignores passes too (an ancillary chunk's content, a cut after the pixel data): the check is not
    // merely refusing everything.
    assert.ok(passed > 0);
  });
});

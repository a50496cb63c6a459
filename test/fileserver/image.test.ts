import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { AideError } from '../../libs/errors.js';
import { FileServerClient, ImageFormat } from '../../libs/fileserver-client/index.js';
import { startFixture, type Fixture } from './fixture.js';

const W = 64;
const H = 48;
/** Exactly reproducible pattern: R = 4x, G = 5y, B = (x * y) mod 256. */
const pixel = (x: number, y: number): [number, number, number] => [x * 4, y * 5, (x * y) % 256];

function gradient(): Buffer {
  const raw = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) raw.set(pixel(x, y), (y * W + x) * 3);
  return raw;
}

/** Four flat quadrants (red, green / blue, white): survives JPEG within a tolerance. */
const QUADRANTS: Array<[number, number, number]> = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];
function quadrants(): Buffer {
  const raw = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) raw.set(QUADRANTS[(y < H / 2 ? 0 : 2) + (x < W / 2 ? 0 : 1)]!, (y * W + x) * 3);
  }
  return raw;
}

const rawInput = (data: Buffer) => sharp(data, { raw: { width: W, height: H, channels: 3 } });
const at = (data: Buffer, width: number, x: number, y: number) => [...data.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)];

function assertNear(actual: number[], expected: number[], tolerance: number, what: string): void {
  for (let i = 0; i < 3; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tolerance, `${what}: ${actual} vs ${expected}`);
  }
}

describe('ReadImage', () => {
  let fx: Fixture;
  let files: FileServerClient;
  before(async () => {
    fx = await startFixture();
    files = new FileServerClient({ project: 'alpha', client: fx.grpc });
    const g = gradient();
    await files.putFile('img/gradient.png', await rawInput(g).png().toBuffer());
    await files.putFile('img/gradient.tif', await rawInput(g).tiff({ tile: true, tileWidth: 16, tileHeight: 16, compression: 'lzw' }).toBuffer());
    await files.putFile('img/quadrants.jpg', await rawInput(quadrants()).jpeg({ quality: 95 }).toBuffer());
    await files.putFile('img/grey.png', await sharp(Buffer.alloc(W * H, 77), { raw: { width: W, height: H, channels: 1 } }).png().toBuffer());
    const png = await rawInput(g).png().toBuffer();
    await files.putFile('img/truncated.png', png.subarray(0, Math.floor(png.length / 2)));
    await files.putFile('img/noise.png', randomBytes(5000));
    await files.putFile('img/drawing.svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'));
  });
  after(async () => { await fx.close(); });

  for (const name of ['img/gradient.png', 'img/gradient.tif']) {
    it(`${name}: exact pixels, dimensions and sizes as raw RGB`, async () => {
      const { info, data } = await files.getImage(name);
      assert.deepEqual(
        { w: info.width, h: info.height, c: info.channels, sw: info.sourceWidth, sh: info.sourceHeight, size: info.size, f: info.format },
        { w: W, h: H, c: 3, sw: W, sh: H, size: W * H * 3, f: ImageFormat.IMAGE_FORMAT_RAW_RGB },
      );
      assert.deepEqual(data, gradient());
    });

    it(`${name}: a window is the exact source rectangle`, async () => {
      const window = { left: 10, top: 5, width: 20, height: 30 };
      const { info, data } = await files.getImage(name, { window });
      assert.equal(info.width, 20);
      assert.equal(info.height, 30);
      assert.equal(info.sourceWidth, W);
      for (let y = 0; y < 30; y++) for (let x = 0; x < 20; x++) assert.deepEqual(at(data, 20, x, y), pixel(x + 10, y + 5));
    });
  }

  it('JPEG input: dimensions, colours within tolerance', async () => {
    const { info, data } = await files.getImage('img/quadrants.jpg');
    assert.equal(info.width, W);
    assert.equal(info.height, H);
    assertNear(at(data, W, 8, 8), QUADRANTS[0]!, 12, 'top left');
    assertNear(at(data, W, 56, 8), QUADRANTS[1]!, 12, 'top right');
    assertNear(at(data, W, 8, 40), QUADRANTS[2]!, 12, 'bottom left');
    assertNear(at(data, W, 56, 40), QUADRANTS[3]!, 12, 'bottom right');
  });

  it('maxSide resizes the longer side, keeps the aspect, never enlarges', async () => {
    const small = await files.getImage('img/quadrants.jpg', { maxSide: 32 });
    assert.deepEqual([small.info.width, small.info.height, small.data.length], [32, 24, 32 * 24 * 3]);
    assertNear(at(small.data, 32, 4, 4), QUADRANTS[0]!, 16, 'resized top left');
    assertNear(at(small.data, 32, 28, 20), QUADRANTS[3]!, 16, 'resized bottom right');
    const same = await files.getImage('img/gradient.png', { maxSide: 1000 });
    assert.deepEqual([same.info.width, same.info.height], [W, H]);
  });

  it('window then resize', async () => {
    // The right half (green over white), 32×48, to a longer side of 24 → 16×24.
    const { info, data } = await files.getImage('img/quadrants.jpg', { window: { left: 32, top: 0, width: 32, height: 48 }, maxSide: 24 });
    assert.deepEqual([info.width, info.height, info.sourceWidth, info.sourceHeight], [16, 24, W, H]);
    assertNear(at(data, 16, 8, 3), QUADRANTS[1]!, 16, 'green');
    assertNear(at(data, 16, 8, 20), QUADRANTS[3]!, 16, 'white');
  });

  it('PNG and JPEG output decode to the stated dimensions', async () => {
    const png = await files.getImage('img/gradient.tif', { format: ImageFormat.IMAGE_FORMAT_PNG, maxSide: 16 });
    const pngMeta = await sharp(png.data).metadata();
    assert.deepEqual([pngMeta.format, pngMeta.width, pngMeta.height, png.info.width, png.info.height], ['png', 16, 12, 16, 12]);
    const jpeg = await files.getImage('img/gradient.png', { format: ImageFormat.IMAGE_FORMAT_JPEG, window: { left: 0, top: 0, width: 10, height: 10 } });
    const jpegMeta = await sharp(jpeg.data).metadata();
    assert.deepEqual([jpegMeta.format, jpegMeta.width, jpegMeta.height], ['jpeg', 10, 10]);
    assert.equal(jpeg.info.size, jpeg.data.length);
  });

  it('greyscale input still comes out as 3-channel RGB', async () => {
    const { info, data } = await files.getImage('img/grey.png');
    assert.equal(info.channels, 3);
    assert.deepEqual(at(data, W, 3, 3), [77, 77, 77]);
  });

  it('corrupt, non-image, vector input or a bad window → INVALID_ARGUMENT; missing → NOT_FOUND', async () => {
    const kindOf = (p: Promise<unknown>) => p.then(() => 'OK', (err: unknown) => (err instanceof AideError ? err.kind : String(err)));
    for (const name of ['img/truncated.png', 'img/noise.png', 'hello.txt', 'img/drawing.svg']) {
      assert.equal(await kindOf(files.getImage(name)), 'INVALID_ARGUMENT', name);
    }
    for (const window of [{ left: 60, top: 0, width: 10, height: 10 }, { left: 0, top: 0, width: 0, height: 5 }, { left: 0, top: 40, width: 5, height: 9 }]) {
      assert.equal(await kindOf(files.getImage('img/gradient.png', { window })), 'INVALID_ARGUMENT', JSON.stringify(window));
    }
    assert.equal(await kindOf(files.getImage('img/missing.png')), 'NOT_FOUND');
    assert.equal(await kindOf(files.getImage('../beta/secret.txt')), 'INVALID_ARGUMENT');
    assert.equal(await kindOf(files.getImage('link-etc-passwd')), 'NOT_FOUND');
  });
});

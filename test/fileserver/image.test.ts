import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { AideError } from '../../libs/errors.js';
import { FileServerClient, ImageFormat } from '../../libs/fileserver-client/index.js';
import { startFixture, type Fixture } from './fixture.js';
import { colourAt, tiledTiff, type TiledTiff } from './tiled-tiff.js';

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

  for (const name of ['img/gradient.png', 'img/gradient.tif', 'img/quadrants.jpg']) {
    it(`${name}: a window is byte for byte that region of the full decode, and says which it is`, async () => {
      const full = await files.getImage(name);
      assert.deepEqual(full.info.window, { left: 0, top: 0, width: W, height: H }, 'no window: the whole image');
      for (const window of [{ left: 10, top: 5, width: 20, height: 30 }, { left: 37, top: 19, width: 27, height: 29 }, { left: 0, top: 0, width: W, height: 1 }]) {
        const part = await files.getImage(name, { window });
        assert.deepEqual(part.info.window, window);
        const region = Buffer.concat(Array.from({ length: window.height }, (_, y) => {
          const start = ((window.top + y) * W + window.left) * 3;
          return full.data.subarray(start, start + window.width * 3);
        }));
        assert.ok(part.data.equals(region), `${name} ${JSON.stringify(window)}`);
      }
    });
  }

  it('a window outside the image or empty → INVALID_ARGUMENT naming the field', async () => {
    const cases: Array<[{ left: number; top: number; width: number; height: number }, string]> = [
      [{ left: 0, top: 0, width: 0, height: 5 }, 'window.width'],
      [{ left: 0, top: 0, width: 5, height: 0 }, 'window.height'],
      [{ left: W, top: 0, width: 1, height: 1 }, 'window.left'],
      [{ left: 0, top: H, width: 1, height: 1 }, 'window.top'],
      [{ left: 60, top: 0, width: 10, height: 10 }, 'window.width'],
      [{ left: 0, top: 40, width: 5, height: 9 }, 'window.height'],
      [{ left: 4294967295, top: 0, width: 1, height: 1 }, 'window.left'],
    ];
    for (const [window, field] of cases) {
      const err = await files.getImage('img/gradient.png', { window }).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof AideError && err.kind === 'INVALID_ARGUMENT', `${JSON.stringify(window)}: ${String(err)}`);
      assert.deepEqual(err.fieldViolations.map((v) => v.field), [field], JSON.stringify(window));
    }
  });

  it('imageSize: the source size', async () => {
    assert.deepEqual(await files.imageSize('img/gradient.tif'), { width: W, height: H });
    assert.deepEqual(await files.imageSize('img/quadrants.jpg'), { width: W, height: H });
  });

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

  it('corrupt, non-image or vector input → INVALID_ARGUMENT; missing → NOT_FOUND', async () => {
    const kindOf = (p: Promise<unknown>) => p.then(() => 'OK', (err: unknown) => (err instanceof AideError ? err.kind : String(err)));
    for (const name of ['img/truncated.png', 'img/noise.png', 'hello.txt', 'img/drawing.svg']) {
      assert.equal(await kindOf(files.getImage(name)), 'INVALID_ARGUMENT', name);
    }
    assert.equal(await kindOf(files.getImage('img/missing.png')), 'NOT_FOUND');
    assert.equal(await kindOf(files.getImage('../beta/secret.txt')), 'INVALID_ARGUMENT');
    assert.equal(await kindOf(files.getImage('link-etc-passwd')), 'NOT_FOUND');
  });

  it('a read failing in transit is retried, then thrown (never "missing"); answers about the file are not retried', async () => {
    /** The fixture's client, but the first `failures` readImage / getFile calls die as a FileServer going away would. */
    const flaky = (failures: number) => {
      let calls = 0;
      const dying = (real: (...args: never[]) => AsyncIterable<unknown>) => (...args: never[]) => {
        calls++;
        if (calls > failures) return real(...args);
        return (async function* () { throw new AideError('UNAVAILABLE', 'connection refused'); })();
      };
      const client = { ...fx.grpc, readImage: dying(fx.grpc.readImage), getFile: dying(fx.grpc.getFile) } as typeof fx.grpc;
      const retry = { retries: 3, minTimeout: 1, maxTimeout: 5 };
      return { files: new FileServerClient({ project: 'alpha', client, retry }), calls: () => calls };
    };
    const recovering = flaky(2);
    assert.equal((await recovering.files.getImage('img/gradient.png')).info.width, W);
    assert.equal(recovering.calls(), 3);

    const down = flaky(Infinity);
    await assert.rejects(down.files.getImage('img/gradient.png'), (err: unknown) => err instanceof AideError && err.kind === 'UNAVAILABLE');
    assert.equal(down.calls(), 4, 'the first try and 3 retries');
    await assert.rejects(flaky(Infinity).files.getFile('hello.txt'), (err: unknown) => err instanceof AideError && err.kind === 'UNAVAILABLE', 'getFile throws too, rather than answering null');

    const answered = flaky(0);
    await assert.rejects(answered.files.getImage('img/missing.png'), (err: unknown) => err instanceof AideError && err.kind === 'NOT_FOUND');
    assert.equal(await answered.files.getFile('img/missing.png'), null);
    assert.equal(answered.calls(), 2, 'NOT_FOUND is an answer: one call each');
  });
});

describe('ReadImage of a large orthoimage', () => {
  let fx: Fixture;
  let files: FileServerClient;
  // 300 megapixels: over sharp's default limit (16383²), under ours (2^30); one 512² tile painted red.
  const ortho: TiledTiff = { width: 20_000, height: 15_000, background: [30, 120, 200], marker: { column: 38, row: 28, colour: [250, 10, 10] } };
  before(async () => {
    fx = await startFixture();
    files = new FileServerClient({ project: 'alpha', client: fx.grpc });
    await writeFile(path.join(fx.root, 'alpha', 'ortho.tif'), tiledTiff(ortho));
    await writeFile(path.join(fx.root, 'alpha', 'huge.tif'), tiledTiff({ ...ortho, width: 40_000, height: 30_000 }));
  });
  after(async () => { await fx.close(); });

  it('a window has the right size and the pixels of that place', async () => {
    assert.deepEqual(await files.imageSize('ortho.tif'), { width: 20_000, height: 15_000 });
    const window = { left: 19_000, top: 14_000, width: 1000, height: 1000 };
    const { info, data } = await files.getImage('ortho.tif', { window });
    assert.deepEqual([info.width, info.height, info.sourceWidth, info.sourceHeight, data.length], [1000, 1000, 20_000, 15_000, 3_000_000]);
    assert.deepEqual(info.window, window);
    for (const [x, y] of [[0, 0], [455, 335], [456, 336], [967, 847], [968, 848], [999, 999], [700, 500]] as const) {
      assert.deepEqual(at(data, 1000, x, y), colourAt(ortho, window.left + x, window.top + y), `(${x}, ${y})`);
    }
    const small = await files.getImage('ortho.tif', { window, maxSide: 100 });
    assert.deepEqual([small.info.width, small.info.height, small.data.length], [100, 100, 30_000]);
  });

  it('refuses answers over the output limit and images over the input limit, naming the field', async () => {
    const fieldOf = (p: Promise<unknown>) => p.then(() => 'OK', (e: unknown) => (e instanceof AideError ? `${e.kind} ${e.fieldViolations[0]?.field}` : String(e)));
    assert.equal(await fieldOf(files.getImage('ortho.tif')), 'INVALID_ARGUMENT max_side');
    assert.equal(await fieldOf(files.getImage('ortho.tif', { window: { left: 0, top: 0, width: 20_000, height: 15_000 } })), 'INVALID_ARGUMENT window');
    assert.equal(await fieldOf(files.getImage('huge.tif', { window: { left: 0, top: 0, width: 10, height: 10 } })), 'INVALID_ARGUMENT path');
  });
});

/**
 * ReadImages: many images decoded at a model's input size in one call — in
 * request order across message and call boundaries, unreadable images
 * answered with their reason while the rest go on, malformed requests
 * refused whole, and a cancelled read stopping the server's decoding.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { AideError, isAideError } from '../../libs/errors.js';
import { FileServerClient, ImageFormat } from '../../libs/fileserver-client/index.js';
import { READ_IMAGES_BATCH } from '../../libs/fileserver-client/client.js';
import type { ReadImagesResponse } from '../../libs/gen/aide/v1/fileserver.js';
import type { ImageResult } from '../../libs/plugin/context.js';
import { loadSizedImages } from '../../models/builtin/image-loader.js';
import { readImages } from '../../services/fileserver/read-images.js';
import { withPixelData } from '../support/png-chunks.js';
import { startFixture, type Fixture } from './fixture.js';

/** A flat colour that names the image: image i is (i mod 256, i / 256, 7). */
const colourOf = (i: number): [number, number, number] => [i % 256, Math.floor(i / 256), 7];
const solid = (i: number, width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: colourOf(i)[0], g: colourOf(i)[1], b: colourOf(i)[2] } } }).png().toBuffer();

/** Small PNGs of the kinds ReadImages decodes in JS (small-png.ts): 40×30 gradients with a hard edge. */
async function kinds(): Promise<Record<string, Buffer>> {
  const rgba = Buffer.alloc(40 * 30 * 4);
  for (let p = 0; p < 40 * 30; p++) rgba.set([(p * 7) % 256, p % 40 < 20 ? 30 : 220, (p * 3) % 256, 60 + (p % 190)], p * 4);
  const input = () => sharp(rgba, { raw: { width: 40, height: 30, channels: 4 } });
  return {
    rgba: await input().png().toBuffer(),
    grey: await input().removeAlpha().greyscale().png().toBuffer(),
    palette: await input().removeAlpha().png({ palette: true, colours: 16 }).toBuffer(),
  };
}

const collect = async (results: AsyncIterable<ImageResult>) => { const all: ImageResult[] = []; for await (const r of results) all.push(r); return all; };

describe('ReadImages', () => {
  let fx: Fixture;
  let files: FileServerClient;
  // More than one client call's worth (READ_IMAGES_BATCH), so order holds across calls and messages.
  const COUNT = READ_IMAGES_BATCH + 76;
  const paths = Array.from({ length: COUNT }, (_, i) => `tiles/${String(i).padStart(5, '0')}.png`);

  before(async () => {
    fx = await startFixture();
    files = new FileServerClient({ project: 'alpha', client: fx.grpc });
    const folder = path.join(fx.root, 'alpha', 'tiles');
    await mkdir(folder, { recursive: true });
    await Promise.all(paths.map(async (p, i) => writeFile(path.join(fx.root, 'alpha', p), await solid(i, 12 + (i % 5), 9))));
    await writeFile(path.join(fx.root, 'alpha', 'wide.png'), await sharp({ create: { width: 300, height: 100, channels: 4, background: '#102030ff' } }).png().toBuffer());
    await writeFile(path.join(fx.root, 'alpha', 'noise.png'), randomBytes(3000));
    const png = await solid(1, 64, 64);
    await writeFile(path.join(fx.root, 'alpha', 'truncated.png'), png.subarray(0, png.length >> 1));
    for (const [name, file] of Object.entries(await kinds())) await writeFile(path.join(fx.root, 'alpha', `${name}.png`), file);
  });
  after(async () => { await fx.close(); });

  it('every image squashed to max_side², in request order, pixels those of the file', async () => {
    const results = await collect(files.getImages(paths, { maxSide: 8, squash: true }));
    assert.deepEqual(results.map((r) => r.index), paths.map((_, i) => i));
    assert.deepEqual(results.map((r) => r.path), paths);
    for (const r of results) {
      assert.ok(r.image, `${r.path}: ${r.error?.message}`);
      assert.deepEqual([r.image.info.width, r.image.info.height, r.image.info.channels, r.image.data.length], [8, 8, 3, 8 * 8 * 3]);
      assert.deepEqual([r.image.info.sourceWidth, r.image.info.sourceHeight], [12 + (r.index % 5), 9], 'the source size comes along');
      assert.deepEqual([...r.image.data.subarray(0, 3)], colourOf(r.index));
      assert.deepEqual([...r.image.data.subarray(-3)], colourOf(r.index));
    }
  });

  it('without squash the aspect is kept and nothing is enlarged; alpha is dropped', async () => {
    const [wide, small] = await collect(files.getImages(['wide.png', paths[3]!], { maxSide: 60 }));
    assert.deepEqual([wide!.image!.info.width, wide!.image!.info.height, wide!.image!.info.channels], [60, 20, 3]);
    assert.deepEqual([...wide!.image!.data.subarray(0, 3)], [0x10, 0x20, 0x30]);
    assert.deepEqual([small!.image!.info.width, small!.image!.info.height], [15, 9], 'smaller than max_side: as it is');
  });

  it('a missing file, random bytes and a truncated PNG are answered with their reason; the images around them still come', async () => {
    const asked = [paths[0]!, 'nope.png', 'noise.png', paths[1]!, 'truncated.png', paths[2]!];
    const results = await collect(files.getImages(asked, { maxSide: 4, squash: true }));
    assert.deepEqual(results.map((r) => r.path), asked);
    assert.deepEqual(results.map((r) => r.error?.code ?? 'ok'), ['ok', 'NOT_FOUND', 'INVALID_ARGUMENT', 'ok', 'INVALID_ARGUMENT', 'ok']);
    assert.equal(results[2]!.error!.message, 'is not a readable image');
    assert.deepEqual([...results[5]!.image!.data.subarray(0, 3)], colourOf(2));
  });

  it('sizes only: each size without pixels, the reasons a decode gives, damage a CRC misses included; max_side unused', async () => {
    await writeFile(path.join(fx.root, 'alpha', 'photo.jpg'), await sharp({ create: { width: 33, height: 21, channels: 3, background: '#405060' } }).jpeg().toBuffer());
    // Whole chunks with right CRCs, the pixel data one byte short: only inflating it tells (checked-png.ts); sharp refuses it.
    await writeFile(path.join(fx.root, 'alpha', 'short.png'), withPixelData(await solid(2, 16, 8), (raw) => raw.subarray(0, raw.length - 1)));
    const asked = [paths[3]!, 'wide.png', 'nope.png', 'noise.png', 'truncated.png', 'short.png', 'rgba.png', 'grey.png', 'palette.png', 'photo.jpg'];
    const sizes = await collect(files.getImages(asked, { maxSide: 1, sizesOnly: true }));
    const unreadable = { code: 'INVALID_ARGUMENT', message: 'is not a readable image' };
    assert.deepEqual(sizes.map((r) => r.error ?? [r.image.info.sourceWidth, r.image.info.sourceHeight, r.image.data.length]), [
      [15, 9, 0], [300, 100, 0], { code: 'NOT_FOUND', message: "file 'nope.png' not found" }, unreadable, unreadable, unreadable,
      [40, 30, 0], [40, 30, 0], [40, 30, 0], [33, 21, 0],
    ]);
    const answers: ReadImagesResponse[] = [];
    for await (const answer of fx.grpc.readImages({ project: 'alpha', paths: ['wide.png'], maxSide: 0, squash: false, sizesOnly: true })) answers.push(answer);
    assert.deepEqual(answers[0]!.images[0]!.result, { $case: 'info', value: {
      width: 0, height: 0, channels: 0, format: ImageFormat.IMAGE_FORMAT_RAW_RGB, sourceWidth: 300, sourceHeight: 100, size: 0,
      window: { left: 0, top: 0, width: 300, height: 100 },
    } });
  });

  it('grey, palette and RGBA PNGs (decoded in JS) come as sharp decodes them, within 2 levels a channel', async () => {
    const names = ['rgba', 'grey', 'palette'];
    const results = await collect(files.getImages(names.map((n) => `${n}.png`), { maxSide: 24 }));
    for (const [i, r] of results.entries()) {
      const { data, info } = await sharp(path.join(fx.root, 'alpha', `${names[i]}.png`))
        .resize({ width: 24, height: 24, fit: 'inside', withoutEnlargement: true }).removeAlpha().toColourspace('srgb').raw()
        .toBuffer({ resolveWithObject: true });
      assert.ok(r.image, `${names[i]}: ${r.error?.message}`);
      assert.deepEqual([r.image.info.width, r.image.info.height, r.image.info.channels], [info.width, info.height, 3], names[i]);
      assert.ok(data.every((v, j) => Math.abs(v - r.image!.data[j]!) <= 2), names[i]);
    }
  });

  it('a stream cut in transit resumes after the last image received; every image comes once, in order', async () => {
    const requested: string[] = [];
    let beforeCut = 0;
    const flaky = {
      ...fx.grpc,
      readImages: (req: Parameters<typeof fx.grpc.readImages>[0], opts?: Parameters<typeof fx.grpc.readImages>[1]) => {
        requested.push(`${req.paths[0]}+${req.paths.length}`);
        const stream = fx.grpc.readImages(req, opts);
        if (requested.length > 1) return stream;
        return (async function* () {
          for await (const message of stream) {
            beforeCut = message.images.length;
            yield message;
            throw new AideError('UNAVAILABLE', 'connection reset'); // after the first message
          }
        })();
      },
    };
    const client = new FileServerClient({ project: 'alpha', client: flaky, retry: { retries: 2, minTimeout: 1, maxTimeout: 1 } });
    const results = await collect(client.getImages(paths, { maxSide: 64, squash: true }));
    assert.deepEqual(results.map((r) => r.index), paths.map((_, i) => i));
    assert.ok(results.every((r) => r.image && r.image.data[0] === colourOf(r.index)[0]));
    assert.ok(beforeCut > 0);
    // Calls of up to READ_IMAGES_BATCH from the first image not received.
    const expected = [`${paths[0]}+${READ_IMAGES_BATCH}`];
    for (let from = beforeCut; from < COUNT; from += READ_IMAGES_BATCH) expected.push(`${paths[from]}+${Math.min(READ_IMAGES_BATCH, COUNT - from)}`);
    assert.deepEqual(requested, expected);
  });

  it("the built-in models' loader reads through it: the pixels of one read per image, unreadable ones with their reason", async () => {
    const asked = [paths[5]!, 'nope.png', 'noise.png', 'wide.png'];
    const batched = await loadSizedImages(files, asked, 16);
    const oneByOne = await loadSizedImages({ getFile: (p) => files.getFile(p), getImage: (p, o) => files.getImage(p, o) }, asked, 16);
    assert.deepEqual(batched.map((b) => ('unreadable' in b ? b.unreadable : [b.width, b.height, [...b.pixels.subarray(0, 3)]])), [
      [12, 9, colourOf(5)], 'not found', 'is not a readable image', [300, 100, [0x10, 0x20, 0x30]],
    ]);
    assert.deepEqual(batched, oneByOne);
  });

  it('malformed requests are refused whole, naming the field', async () => {
    const refused = async (req: { paths: string[]; maxSide: number }, field: string) => {
      const stream = fx.grpc.readImages({ project: 'alpha', squash: false, sizesOnly: false, ...req });
      await assert.rejects(async () => { for await (const _ of stream) { /* drain */ } },
        (e) => isAideError(e, 'INVALID_ARGUMENT') && e.fieldViolations[0]!.field === field, field);
    };
    await refused({ paths: [paths[0]!, '../beta/secret.txt'], maxSide: 8 }, 'paths[1]');
    await refused({ paths: [paths[0]!], maxSide: 0 }, 'max_side');
    await refused({ paths: [paths[0]!], maxSide: 4096 }, 'max_side');
    await refused({ paths: Array.from({ length: 4097 }, () => paths[0]!), maxSide: 8 }, 'paths');
  });

  it('an aborted read stops decoding: the server is not asked for the rest', async () => {
    // 300² RGB is 270 KB: a few images a message. Aborted after the first message, the next pull fails at once.
    const controller = new AbortController();
    let received = 0;
    await assert.rejects(async () => {
      for await (const { images } of readImages(fx.store, { project: 'alpha', paths, maxSide: 300, squash: true, sizesOnly: false }, controller.signal, 2)) {
        received += images.length;
        controller.abort();
      }
    }, (e) => (e as Error).name === 'AbortError');
    assert.ok(received > 0 && received < 10, `${received} received`);
    // Over gRPC: the client's abort ends its iteration with CANCELLED, not with more images.
    const client = new AbortController();
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const r of files.getImages(paths, { maxSide: 8, squash: true, signal: client.signal })) {
        seen.push(r.index);
        if (seen.length === 10) client.abort();
      }
    }, (e) => isAideError(e, 'CANCELLED') || (e as Error).name === 'AbortError');
    assert.ok(seen.length < paths.length);
  });
});

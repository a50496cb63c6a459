/**
 * The shared runtime under the built-in models: data-parallel replicas give
 * the gradients of one whole batch, training leaks no tensors across epochs,
 * and images come through getImage where a source offers it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import seedrandom from 'seedrandom';
import { CLASSIFIER_NETWORK, classifierSpecs, embeddingSize, oneHotTargets, type ClassifierArch } from '../../models/builtin/classifier/network.js';
import { loadSizedImage, type SizedImage } from '../../models/builtin/image-loader.js';
import { AideError, invalidField, notFound } from '../../libs/errors.js';
import { initialParameters } from '../../models/builtin/network.js';
import { ReplicaPool } from '../../models/builtin/replica-pool.js';
import { augmentInto, drawTransform, IDENTITY, mapPoint, warpNearest } from '../../models/builtin/augment.js';
import type { Example } from '../../models/builtin/batch.js';
import { trainLoop } from '../../models/builtin/train-loop.js';
import type { DecodedImage, FileSource } from '../../libs/plugin/context.js';

const arch: ClassifierArch = { inputSize: 16, width: 4, depth: 2, classes: 2 };
const settings = { epochs: 1, batchSize: 4, learningRate: 0.01, schedule: 'anneal' as const, weightDecay: 0, augment: { flip: true, crop: 0.2, shift: 0, colourJitter: 0.2 }, seed: 1, size: 16 };

function examples(n: number): Example<number>[] {
  return Array.from({ length: n }, (_, i) => ({ image: Uint8Array.from({ length: 16 * 16 * 3 }, (_, k) => (k * 7 + i * 13) % 256), target: i % 2 }));
}

describe('built-in model runtime', () => {
  let one: ReplicaPool;
  let two: ReplicaPool;
  before(async () => {
    [one, two] = await Promise.all([1, 2].map((threads) => ReplicaPool.start({ networkModule: CLASSIFIER_NETWORK, arch, threads, backend: 'wasm' })));
  });
  after(() => Promise.all([one.close(), two.close()]));

  it('splits a batch over replicas without changing its gradient', async () => {
    assert.equal(two.size, 2);
    assert.equal(two.backend, 'wasm');
    const params = initialParameters(classifierSpecs(arch), 3).map((t) => t.data);
    const batch = { images: Float32Array.from({ length: 5 * 16 * 16 * 3 }, (_, i) => (i % 97) / 97), count: 5, size: 16 };
    const targets = Float32Array.from([1, 0, 0, 1, 0, 1, 1, 0, 0, 1]); // one-hot classes 0, 1, 1, 0, 1
    const [a, b] = [await one.gradients(params, batch, targets), await two.gradients(params, batch, targets)];
    assert.ok(Math.abs(a.lossSum - b.lossSum) < 1e-4 * a.lossSum);
    a.grads.forEach((g, t) => g.forEach((v, i) => assert.ok(Math.abs(v - b.grads[t]![i]!) < 1e-4, `grad ${t}[${i}]`)));
    // Per image: the two class probabilities, then the embedding (penultimate features).
    const outputs = await two.predict(params, batch);
    assert.equal(outputs.length, 5 * (2 + embeddingSize(arch)));
  });

  it('predicts a run of batches in order, with the parameters as they were when it started', async () => {
    const images = (count: number, seed: number) => ({ images: Float32Array.from({ length: count * 16 * 16 * 3 }, (_, i) => ((i * 31 + seed) % 101) / 101), count, size: 16 });
    // A one-image batch reaches only the first replica: the second gets the run's parameters with its first shard, later.
    const batches = [images(5, 1), images(1, 2), images(4, 3), images(3, 4)];
    const params = initialParameters(classifierSpecs(arch), 5).map((t) => t.data);
    const expected: Float32Array[] = [];
    for (const b of batches) expected.push(await one.predict(params, b));
    const snapshot = params.map((p) => p.slice());
    const got: Float32Array[] = [];
    for await (const outputs of two.predictAll(params, batches)) {
      got.push(outputs);
      params[params.length - 1]![0] = 10; // the head's bias for class 0, changed mid-run: the run must not see it
    }
    assert.equal(got.length, batches.length);
    got.forEach((o, k) => {
      assert.equal(o.length, batches[k]!.count * (arch.classes + embeddingSize(arch)));
      o.forEach((v, i) => assert.ok(Math.abs(v - expected[k]![i]!) < 1e-5, `batch ${k} output ${i}: ${v} vs ${expected[k]![i]}`));
    });
    // A new run takes the new parameters (no replica keeps the last run's).
    const changed = await two.predict(params, batches[0]!);
    const reference = await one.predict(params, batches[0]!);
    changed.forEach((v, i) => assert.ok(Math.abs(v - reference[i]!) < 1e-5));
    assert.ok(changed.some((v, i) => Math.abs(v - expected[0]![i]!) > 1e-3), 'the changed bias changes the outputs');
    // A batch source that throws (an abort) ends the run with its error; the pool serves the next run.
    function* aborted() { yield batches[0]!; yield batches[2]!; throw new Error('aborted'); }
    await assert.rejects(async () => { for await (const _ of two.predictAll(snapshot, aborted())) { /* read */ } }, /aborted/);
    const after = await two.predict(snapshot, batches[3]!);
    after.forEach((v, i) => assert.ok(Math.abs(v - expected[3]![i]!) < 1e-5));
  });

  it('keeps the tensor count stable across epochs', async () => {
    const params = initialParameters(classifierSpecs(arch), 3).map((t) => t.data);
    const counts: number[][] = [];
    for (let epoch = 0; epoch < 3; epoch++) {
      await trainLoop(two, params, examples(10), oneHotTargets(2), settings, () => {});
      counts.push(await two.numTensors());
    }
    assert.deepEqual(counts[1], counts[0]);
    assert.deepEqual(counts[2], counts[0]);
  });

  it('follows the learning-rate schedule: the same data and seed end elsewhere annealed than at a constant rate', async () => {
    const run = async (schedule: 'constant' | 'anneal') => {
      const params = initialParameters(classifierSpecs(arch), 3).map((t) => t.data);
      await trainLoop(two, params, examples(10), oneHotTargets(2), { ...settings, epochs: 2, schedule }, () => {});
      return params;
    };
    const constant = await run('constant');
    assert.deepEqual(await run('constant'), constant, 'reproducible');
    assert.notDeepEqual(await run('anneal'), constant);
  });

  for (const [what, aug] of [['crops', { flip: true, crop: 0.4, shift: 0, colourJitter: 0 }], ['shifts', { flip: true, crop: 0, shift: 0.2, colourJitter: 0 }]] as const) it(`moves targets with their image under one augmentation draw (${what})`, () => {
    const size = 32;
    const random = seedrandom('aug');
    for (let k = 0; k < 20; k++) {
      const t = drawTransform(aug, random);
      // A bright 2×2 block at (20, 9) on black: where it lands must be where mapPoint puts its centre.
      const image = new Uint8Array(size * size * 3);
      for (const [x, y] of [[20, 9], [21, 9], [20, 10], [21, 10]]) image.fill(255, (y! * size + x!) * 3, (y! * size + x!) * 3 + 3);
      const out = new Float32Array(size * size * 3);
      augmentInto(image, size, t, out, 0);
      let [sx, sy, n] = [0, 0, 0];
      for (let i = 0; i < size * size; i++) if (out[i * 3]! > 0.5) { sx += i % size; sy += Math.floor(i / size); n++; }
      const [mx, my] = mapPoint(t, 21 / size, 10 / size);
      assert.ok(n > 0 && Math.abs((sx / n + 0.5) / size - mx) < 1.5 / size && Math.abs((sy / n + 0.5) / size - my) < 1.5 / size, `draw ${k}`);
      // A dense map warps exactly as the image's pixels do.
      const map = new Float32Array(size * size);
      warpNearest(Float32Array.from({ length: size * size }, (_, i) => image[i * 3]! / 255), size, 1, t, map, 0);
      map.forEach((v, i) => assert.equal(v, out[i * 3]));
      // A shift keeps the scale: the block stays 2×2.
      if (aug.crop === 0) assert.equal(n, 4, `draw ${k}`);
    }
  });

  it('repeats the edge pixels where a shift moves the image past its edge', () => {
    const size = 8;
    // Column x has value 10 x: shifted right by 2 pixels, the first three columns read column 0.
    const image = Uint8Array.from({ length: size * size * 3 }, (_, i) => 10 * (Math.floor(i / 3) % size));
    const out = new Float32Array(size * size * 3);
    augmentInto(image, size, { ...IDENTITY, x0: -2 / size }, out, 0);
    const row = Array.from({ length: size }, (_, x) => Math.round(out[x * 3]! * 255));
    assert.deepEqual(row, [0, 0, 0, 10, 20, 30, 40, 50]);
  });

  it('asks getImage for pixels already shrunk when the source offers it', async () => {
    const asked: unknown[] = [];
    const source: FileSource = {
      getFile: async () => assert.fail('getFile must not be used'),
      getImage: async (_path, opts): Promise<DecodedImage> => {
        asked.push(opts);
        return { info: { width: 20, height: 10, channels: 3 }, data: Buffer.alloc(20 * 10 * 3, 128) };
      },
    };
    const image = await loadSizedImage(source, 'a.jpg', 16) as SizedImage;
    assert.deepEqual(asked, [{ maxSide: 16 }]);
    assert.equal(image.pixels.length, 16 * 16 * 3);
    assert.deepEqual([image.width, image.height], [20, 10]);
  });

  it('reports a missing or undecodable file as unreadable with its reason, and throws a failed read', async () => {
    const failing = (err: Error): FileSource => ({ getFile: async () => null, getImage: async () => { throw err; } });
    assert.deepEqual(await loadSizedImage({ getFile: async () => null }, 'missing.jpg', 16), { unreadable: 'not found' });
    const local = await loadSizedImage({ getFile: async () => Buffer.from('not a png at all') }, 'junk.png', 16);
    assert.match((local as { unreadable: string }).unreadable, /^not a readable image/);
    assert.deepEqual(await loadSizedImage(failing(notFound('file')), 'gone.jpg', 16), { unreadable: 'not found' });
    assert.deepEqual(await loadSizedImage(failing(invalidField('path', 'is not a readable image')), 'junk.png', 16), { unreadable: 'is not a readable image' });
    // A FileServer that is down (after the client's retries) is not a missing image: the load fails.
    await assert.rejects(loadSizedImage(failing(new AideError('UNAVAILABLE', 'connection refused')), 'a.jpg', 16), /connection refused/);
    // A bad window is the caller's mistake, not the file's.
    await assert.rejects(loadSizedImage(failing(invalidField('window.width', 'must be at least 1')), 'a.jpg', 16), /window.width/);
  });
});

/**
 * The shared runtime under the built-in models: data-parallel replicas give
 * the gradients of one whole batch, training leaks no tensors across epochs,
 * and images come through getImage where a source offers it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CLASSIFIER_NETWORK, classifierSpecs, type ClassifierArch } from '../../models/builtin/classifier/network.js';
import { loadImage } from '../../models/builtin/image-loader.js';
import { initialParameters } from '../../models/builtin/network.js';
import { ReplicaPool } from '../../models/builtin/replica-pool.js';
import { trainLoop, type Example } from '../../models/builtin/train-loop.js';
import type { DecodedImage, FileSource } from '../../libs/plugin/context.js';

const arch: ClassifierArch = { inputSize: 16, width: 4, depth: 2, classes: 2 };
const settings = { epochs: 1, batchSize: 4, learningRate: 0.01, weightDecay: 0, augment: { flip: true, crop: 0.2, colourJitter: 0.2 }, seed: 1, size: 16 };

function examples(n: number): Example[] {
  return Array.from({ length: n }, (_, i) => ({ image: Uint8Array.from({ length: 16 * 16 * 3 }, (_, k) => (k * 7 + i * 13) % 256), label: i % 2 }));
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
    const labels = Int32Array.from([0, 1, 1, 0, 1]);
    const [a, b] = [await one.gradients(params, batch, labels), await two.gradients(params, batch, labels)];
    assert.ok(Math.abs(a.lossSum - b.lossSum) < 1e-4 * a.lossSum);
    a.grads.forEach((g, t) => g.forEach((v, i) => assert.ok(Math.abs(v - b.grads[t]![i]!) < 1e-4, `grad ${t}[${i}]`)));
    const probs = await two.predict(params, batch);
    assert.equal(probs.length, 10);
  });

  it('keeps the tensor count stable across epochs', async () => {
    const params = initialParameters(classifierSpecs(arch), 3).map((t) => t.data);
    const counts: number[][] = [];
    for (let epoch = 0; epoch < 3; epoch++) {
      await trainLoop(two, params, examples(10), settings, () => {});
      counts.push(await two.numTensors());
    }
    assert.deepEqual(counts[1], counts[0]);
    assert.deepEqual(counts[2], counts[0]);
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
    const pixels = await loadImage(source, 'a.jpg', 16);
    assert.deepEqual(asked, [{ maxSide: 16 }]);
    assert.equal(pixels!.length, 16 * 16 * 3);
    assert.equal(await loadImage({ getFile: async () => null }, 'missing.jpg', 16), null);
  });
});

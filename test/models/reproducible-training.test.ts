/**
 * Reproducible training: the same labelled files and seed give the same
 * network, whatever ids the images have (another project) and whatever order
 * they arrive in (the controller lists them by annotation time, then id), and
 * federated shards are cut the same way. Tiny shapes at 16×16 so it stays fast.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LabelAnnotation, TrainingData } from '../../libs/plugin/data.js';
import { LocalFileSource } from '../../libs/plugin/local-file-source.js';
import { probeContext } from '../../libs/plugin/probe.js';
import { LabelsClassifier } from '../../models/builtin/classifier/model.js';
import { decodeState } from '../../models/builtin/state-format.js';
import { shardByPath } from '../../services/controller/orchestration/shards.js';
import { optionsWith } from '../support/builtin-models.js';
import { makeShapeSet, PROJECT } from './shapes.js';

const quiet = () => {};
const weights = (state: Uint8Array) => decodeState(state).tensors.map((t) => t.data);

/** The same images under other ids, in reverse order. */
function renamed(data: TrainingData<LabelAnnotation>): TrainingData<LabelAnnotation> {
  return { ...data, images: Object.fromEntries(Object.entries(data.images).reverse().map(([id, image]) => [`other-${id}`, image])) };
}

describe('reproducible training', () => {
  let dir: string;
  let data: TrainingData<LabelAnnotation>;
  /** Seed 7's result, compared again with another seed's. */
  let first: Awaited<ReturnType<LabelsClassifier['train']>>;
  const model = (seed: number) => new LabelsClassifier({
    ...probeContext(optionsWith(LabelsClassifier.getDefaultOptions(), {
      'network.inputSize': 16, 'network.width': 4, 'network.depth': 2, 'training.epochs': 2, 'training.seed': seed, 'training.validationFraction': 0.25,
    })),
    fileServer: new LocalFileSource(dir, PROJECT),
  });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'reproducible-'));
    data = await makeShapeSet(dir, 'train', 6, 3);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('the same files and seed give the same state and statistics under other ids and in another order', async () => {
    first = await model(7).train(null, data, quiet);
    const again = await model(7).train(null, renamed(data), quiet);
    assert.ok(!(first instanceof Uint8Array) && !(again instanceof Uint8Array));
    const { seconds: _a, ...firstStats } = first.stats!;
    const { seconds: _b, ...againStats } = again.stats!;
    assert.deepEqual(againStats, firstStats);
    assert.ok(firstStats.heldOutImages! > 0, 'some images held out');
    // The weights bit for bit (the states' headers differ in the seconds training took).
    assert.deepEqual(weights(again.state), weights(first.state));
  });

  it('another seed trains another network', async () => {
    const other = await model(8).train(null, data, quiet);
    assert.ok(!(first instanceof Uint8Array) && !(other instanceof Uint8Array));
    assert.notDeepEqual(weights(other.state), weights(first.state));
  });

  it('federated shards are cut by path, not by the order images are listed in', () => {
    const images = ['b.png', 'd.png', 'a.png', 'e.png', 'c.png'].map((filename, i) => ({ id: `id-${i}`, filename }));
    const names = (shards: { filename: string }[][]) => shards.map((s) => s.map((i) => i.filename));
    assert.deepEqual(names(shardByPath(images, 2)), [['a.png', 'c.png', 'e.png'], ['b.png', 'd.png']]);
    assert.deepEqual(names(shardByPath([...images].reverse(), 2)), names(shardByPath(images, 2)));
  });
});

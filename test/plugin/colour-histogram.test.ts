import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import sharp from 'sharp';
import type { LabelAnnotation, TrainingData } from '../../libs/plugin/data.js';
import { LocalFileSource } from '../../libs/plugin/local-file-source.js';
import { probeContext } from '../../libs/plugin/probe.js';
import { ColourHistogramModel } from '../../models/examples/colour-histogram/model.js';
import { decodeState } from '../../models/examples/colour-histogram/state.js';

const run = promisify(execFile);
const PROJECT = 'colours';
const CLASSES = { red: [200, 40, 40], green: [40, 170, 60], blue: [40, 60, 200], yellow: [220, 210, 50] } as const;
const labelClasses = Object.fromEntries(Object.keys(CLASSES).map((name, i) => [`lc-${name}`, { name, color: null, index: i + 1 }]));

/** Deterministic noise: the tests must not flake. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** A 32×32 image of a class colour, shifted per image and jittered per pixel. */
async function colouredImage(rgb: readonly number[], rand: () => number): Promise<Buffer> {
  const shift = rgb.map(() => (rand() - 0.5) * 50);
  const pixels = Buffer.alloc(32 * 32 * 3);
  for (let i = 0; i < pixels.length; i++) {
    const c = i % 3;
    pixels[i] = Math.max(0, Math.min(255, Math.round(rgb[c]! + shift[c]! + (rand() - 0.5) * 60)));
  }
  return sharp(pixels, { raw: { width: 32, height: 32, channels: 3 } }).png().toBuffer();
}

async function makeSet(root: string, split: string, perClass: number, rand: () => number): Promise<TrainingData<LabelAnnotation>> {
  const images: TrainingData<LabelAnnotation>['images'] = {};
  await mkdir(path.join(root, PROJECT, split), { recursive: true });
  for (const [name, rgb] of Object.entries(CLASSES)) {
    for (let k = 0; k < perClass; k++) {
      const filename = `${split}/${name}-${k}.png`;
      await writeFile(path.join(root, PROJECT, filename), await colouredImage(rgb, rand));
      images[`${split}-${name}-${k}`] = { filename, annotations: [{ id: `a-${split}-${name}-${k}`, label: `lc-${name}`, unsure: false }] };
    }
  }
  return { images, labelClasses };
}

const tool = (...args: string[]) =>
  run(process.execPath, ['--import', 'tsx', 'scripts/test-model-locally.ts', ...args], { env: { ...process.env, AIDE_SETTINGS: '' } });

describe('colour-histogram example model', () => {
  let dir: string;
  let train: TrainingData<LabelAnnotation>;
  let test: TrainingData<LabelAnnotation>;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'colour-histogram-'));
    const rand = lcg(42);
    train = await makeSet(dir, 'train', 8, rand);
    test = await makeSet(dir, 'test', 5, rand);
    await writeFile(path.join(dir, 'train.json'), JSON.stringify(train));
    await writeFile(path.join(dir, 'test.json'), JSON.stringify(test));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('trains and predicts held-out images accurately through the local tool', async () => {
    const common = ['--project', PROJECT, '--model-library', 'examples.colour_histogram', '--file-root', path.join(dir)];
    const trained = await tool('--mode', 'train', ...common, '--data', path.join(dir, 'train.json'), '--save-state', path.join(dir, 'state.bin'));
    assert.match(trained.stdout, /trained: state of \d+ bytes, stats \{"images":32,"classes":4\}/);

    const out = path.join(dir, 'predictions.json');
    const inferred = await tool('--mode', 'inference', ...common, '--data', path.join(dir, 'test.json'), '--state', path.join(dir, 'state.bin'), '--output', out);
    const [, correct, total] = /accuracy: (\d+)\/(\d+)/.exec(inferred.stdout)!;
    assert.equal(Number(total), 20);
    assert.ok(Number(correct) >= 19, `accuracy ${correct}/${total}`);

    // Predictions are real: a label, its confidence and one probability per class.
    const predictions = JSON.parse(await readFile(out, 'utf8')) as Record<string, { predictions: { label: string; confidence: number; logits: number[] }[] }>;
    const first = predictions['test-red-0']!.predictions[0]!;
    assert.equal(first.label, 'lc-red');
    assert.equal(first.logits.length, 4);
    assert.ok(Math.abs(first.logits.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  });

  it('ranks the model\'s predictions through the local tool', async () => {
    const rankData = { img: { predictions: [{ label: 'lc-red', confidence: 0.9, logits: [0.9, 0.1] }] } };
    await writeFile(path.join(dir, 'rank.json'), JSON.stringify(rankData));
    const out = path.join(dir, 'ranked.json');
    await tool('--mode', 'rank', '--project', PROJECT, '--ranker-library', 'builtin.least_confidence', '--file-root', dir, '--data', path.join(dir, 'rank.json'), '--output', out);
    const ranked = JSON.parse(await readFile(out, 'utf8'));
    assert.ok(Math.abs(ranked.img.predictions[0].priority - 0.1) < 1e-9);
  });

  it('averages states weighted by image counts, and drops removed classes', async () => {
    const model = new ColourHistogramModel({ ...probeContext(JSON.parse(ColourHistogramModel.getDefaultOptions())), fileServer: new LocalFileSource(dir, PROJECT) });
    const subset = (names: string[]): TrainingData<LabelAnnotation> => ({
      ...train,
      images: Object.fromEntries(Object.entries(train.images).filter(([id]) => names.some((n) => id.includes(n)))),
    });
    const stateOf = async (r: Awaited<ReturnType<ColourHistogramModel['train']>>) => (r instanceof Uint8Array ? r : r.state);
    const a = await stateOf(await model.train(null, subset(['red-0', 'blue-0']), () => {}));
    const b = await stateOf(await model.train(null, subset(['red-1']), () => {}));
    const merged = decodeState(await model.averageModelStates([a, b], () => {}, [3, 1]));
    const [ra, rb] = [decodeState(a).centroids['lc-red']!, decodeState(b).centroids['lc-red']!];
    merged.centroids['lc-red']!.mean.forEach((v, k) => assert.ok(Math.abs(v - (3 * ra.mean[k]! + rb.mean[k]!) / 4) < 1e-12));
    assert.ok(merged.centroids['lc-blue'], 'a class only one worker saw is kept');

    const withoutRed = { ...subset(['blue-1']), labelClasses: Object.fromEntries(Object.entries(labelClasses).filter(([id]) => id !== 'lc-red')) };
    const pruned = decodeState(await stateOf(await model.train(a, withoutRed, () => {})));
    assert.deepEqual(Object.keys(pruned.centroids), ['lc-blue']);
  });

  it('reports images it cannot read (missing, not an image) instead of skipping them silently', async () => {
    const model = new ColourHistogramModel({ ...probeContext(JSON.parse(ColourHistogramModel.getDefaultOptions())), fileServer: new LocalFileSource(dir, PROJECT) });
    await writeFile(path.join(dir, PROJECT, 'junk.png'), Buffer.from('not an image at all'));
    const label = (filename: string) => ({ filename, annotations: [{ label: 'lc-red' }] });
    const data = { labelClasses, images: { good: label('train/red-0.png'), junk: label('junk.png'), gone: label('gone.png') } };
    const trained = await model.train(null, data, () => {});
    assert.ok(!(trained instanceof Uint8Array));
    assert.equal(trained.stats!.images, 1);
    assert.deepEqual(Object.keys(trained.unreadable!).sort(), ['gone', 'junk']);
    assert.equal(trained.unreadable!.gone, 'not found');
    const result = await model.inference(trained.state, data, () => {});
    assert.equal(result.good!.predictions.length, 1);
    assert.match(result.junk!.unreadable!, /^not a readable image/);
    assert.deepEqual(result.gone, { predictions: [], unreadable: 'not found' });
  });

  it('verifyOptions range-checks and auto-completes', () => {
    const result = ColourHistogramModel.verifyOptions({ options: { general: { bins: { value: 99 } } } });
    assert.ok(result && typeof result === 'object');
    assert.equal(result.valid, false);
    assert.match(result.errors![0]!, /bins must be an integer in \[2, 16\]/);
    const completed = ColourHistogramModel.verifyOptions({ options: { general: { bins: 8 } } });
    assert.ok(completed && typeof completed === 'object' && completed.valid);
    assert.equal(completed.warnings!.length, 2);
    assert.throws(() => new ColourHistogramModel(probeContext({ options: { general: { temperature: -1 } } })), /temperature/);
  });
});

/**
 * The built-in point detector end to end on generated scenes (64×64 PNGs
 * with two to six small shapes of three classes, annotated at their
 * centres): points found, continuing, averaging, class changes, box
 * centres as input, cancellation, options, and the rankers on its real
 * predictions.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ImagePredictionsMap, InferenceData, PointAnnotation, PointPrediction, TrainingData } from '../../libs/plugin/data.js';
import { LocalFileSource } from '../../libs/plugin/local-file-source.js';
import { probeContext } from '../../libs/plugin/probe.js';
import { decodePoints } from '../../models/builtin/points/decode.js';
import { PointsModel } from '../../models/builtin/points/model.js';
import { decodeState } from '../../models/builtin/state-format.js';
import { expectStopsAtBatch, expectUncertainFirst, ONE_THREAD, optionsWith, stateOf } from '../support/builtin-models.js';
import { halves, makeScenes, withoutClass, withoutImagesOf } from './scenes.js';
import { labelClasses, PROJECT, type Shape } from './shapes.js';

const quiet = () => {};
const SHAPES_USED: Shape[] = ['circle', 'triangle', 'cross'];
const SCENES = { kind: 'points', objects: [2, 6], radius: [3.5, 6], shapes: SHAPES_USED } as const;
/** "Found" means within 3 pixels of 64 (and of the right class). */
const RADIUS = 3 / 64;

type Data = TrainingData<PointAnnotation>;
const pointsOf = (predictions: Promise<unknown>) => predictions as Promise<ImagePredictionsMap<PointPrediction>>;

/** Per image, each prediction matched (strongest first) to a free annotated point of its class within RADIUS, or not. */
function judge(predictions: ImagePredictionsMap<PointPrediction>, data: Data) {
  const right = new Set<PointPrediction>();
  let annotated = 0;
  for (const [id, { predictions: found }] of Object.entries(predictions)) {
    const free = (data.images[id]!.annotations ?? []).filter((a) => a.label! in data.labelClasses);
    annotated += free.length;
    for (const p of [...found].sort((a, b) => b.confidence! - a.confidence!)) {
      const k = free.findIndex((t) => t.label === p.label && Math.hypot(t.x - p.x, t.y - p.y) <= RADIUS);
      if (k >= 0) { right.add(p); free.splice(k, 1); }
    }
  }
  const predicted = Object.values(predictions).reduce((n, p) => n + p.predictions.length, 0);
  return { right, recall: right.size / annotated, precision: right.size / Math.max(1, predicted) };
}

describe('built-in point detector ("points")', () => {
  let dir: string;
  let train: Data;
  let test: Data;
  let base: Uint8Array;
  let whole: Uint8Array;
  const model = (changes: Record<string, unknown> = {}) =>
    new PointsModel({ ...probeContext(optionsWith(PointsModel.getDefaultOptions(), { 'training.epochs': 10, ...ONE_THREAD, ...changes })), fileServer: new LocalFileSource(dir, PROJECT) });

  /** Recall and precision of a state's points on `data`. */
  async function score(state: Uint8Array, data: Data) {
    return judge(await pointsOf(model().inference(state, data as InferenceData, quiet)), data);
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'points-'));
    train = (await makeScenes(dir, 'train', 160, 1, SCENES)) as Data;
    test = (await makeScenes(dir, 'test', 40, 2, SCENES)) as Data;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('turns heatmap peaks into points, keeping the stronger of two close ones', () => {
    // A 4×4 grid, 2 classes; offsets (0.25, 0.75) in the cell.
    const output = new Float32Array(4 * 4 * 4).fill(-9);
    output.set([-9, 2, 0.25, 0.75], (1 * 4 + 0) * 4); // class 1 at cell (0, 1)
    output.set([0.5, -9, 0.25, 0.75], (3 * 4 + 3) * 4); // class 0 at cell (3, 3)
    const options = { grid: 4, classes: 2, threshold: 0.5, minDistance: 0, maxPoints: 10 };
    const found = decodePoints(output, options);
    assert.deepEqual(found.map((p) => [p.x, p.y, p.classIndex]), [[0.0625, 0.4375, 1], [0.8125, 0.9375, 0]]);
    assert.ok(Math.abs(found[0]!.score - 1 / (1 + Math.exp(-2))) < 1e-6);
    assert.deepEqual(found[0]!.logits, [-9, 2]);
    assert.equal(decodePoints(output, { ...options, minDistance: 0.95 }).length, 1); // they are 0.90 apart
    assert.deepEqual(decodePoints(output, { ...options, allowed: [true, false] }).map((p) => p.classIndex), [0]);
  });

  it('finds ≥ 80 % of the points within 3 pixels, with few false ones', async (t) => {
    const result = await model().train(null, train, quiet);
    assert.ok(!(result instanceof Uint8Array));
    base = result.state;
    const { stats } = result;
    assert.equal(stats!.images! + stats!.heldOutImages!, 160);
    assert.ok(stats!.heldOutRecall! > 0.6 && stats!.heldOutPrecision! > 0.6, `held-out ${stats!.heldOutRecall} / ${stats!.heldOutPrecision}`);
    const { recall, precision } = await score(base, test);
    t.diagnostic(`test recall ${recall.toFixed(3)}, precision ${precision.toFixed(3)}`);
    assert.ok(recall >= 0.8, `recall ${recall}`);
    assert.ok(precision >= 0.8, `precision ${precision}`);
  });

  it('continuing from a state beats starting from scratch at equal epochs', async () => {
    const short = model({ 'training.epochs': 2 });
    const scratch = await score(stateOf(await short.train(null, train, quiet)), test);
    whole = stateOf(await short.train(base, train, quiet));
    const continued = await score(whole, test);
    assert.ok(continued.recall > scratch.recall + 0.1, `recall continued ${continued.recall} vs scratch ${scratch.recall}`);
  });

  it('averaging states trained on two halves comes within a few points of training on the whole', async () => {
    const round = model({ 'training.epochs': 2 });
    const [a, b] = await Promise.all(halves(train).map(async (half) => stateOf(await round.train(base, half, quiet))));
    const averaged = await score(await round.averageModelStates([a!, b!], quiet, [80, 80]), test);
    const ofWhole = await score(whole, test);
    // Within a few points: with shards and examples in path order (reproducible training) the gap is 0.05–0.06.
    assert.ok(averaged.recall >= ofWhole.recall - 0.08 && averaged.precision >= ofWhole.precision - 0.08,
      `averaged ${averaged.recall} / ${averaged.precision} vs whole ${ofWhole.recall} / ${ofWhole.precision}`);
  });

  it('removing and adding a class keeps finding the others', async () => {
    const slow = { 'training.learningRate': 0.001 };
    const noCross = withoutImagesOf(test, 'lc-cross');
    const before = await score(base, noCross);
    const state2 = stateOf(await model({ ...slow, 'training.epochs': 1 }).train(base, withoutClass(train, 'lc-cross'), quiet));
    assert.deepEqual(decodeState(state2).header.labelClasses, ['lc-circle', 'lc-triangle']);
    const two = { ...noCross, labelClasses: labelClasses(['circle', 'triangle']) };
    const after2 = await score(state2, two);
    assert.ok(after2.recall >= before.recall - 0.1, `two classes ${after2.recall} vs three ${before.recall}`);

    const state3 = stateOf(await model({ ...slow, 'training.epochs': 2 }).train(state2, train, quiet));
    assert.deepEqual(decodeState(state3).header.labelClasses, ['lc-circle', 'lc-triangle', 'lc-cross']);
    const after3 = await score(state3, noCross);
    assert.ok(after3.recall >= before.recall - 0.1, `old classes after adding one: ${after3.recall} vs ${before.recall}`);
  });

  it('learns from box centres as well as from points', async () => {
    const asBoxes = { ...train, images: Object.fromEntries(Object.entries(train.images).map(([id, image]) =>
      [id, { ...image, annotations: image.annotations!.map((a) => ({ ...a, width: 0.1, height: 0.1 })) }])) };
    const fromBoxes = stateOf(await model({ 'training.epochs': 1, ...{ 'training.learningRate': 0.001 } }).train(base, asBoxes, quiet));
    assert.ok((await score(fromBoxes, test)).recall >= 0.7);
  });

  it('stops within one batch when cancelled, reporting progress per batch', () =>
    expectStopsAtBatch((update, signal) => model({ 'training.epochs': 5 }).train(null, train, update, signal), 3));

  it('offers valid defaults and names the offending fields', () => {
    const defaults = PointsModel.getDefaultOptions();
    const ok = PointsModel.verifyOptions(JSON.parse(defaults));
    assert.ok(typeof ok === 'object' && ok?.valid && ok.errors?.length === 0);
    const bad = PointsModel.verifyOptions(optionsWith(defaults, { 'inference.minDistance': -1, 'inference.maxObjects': 2.5, 'augmentation.crop': 0.9 }));
    assert.ok(typeof bad === 'object' && bad && !bad.valid);
    const errors = bad.errors!.join('\n');
    assert.match(errors, /inference\.minDistance must be a number in \[0, 512\], got -1/);
    assert.match(errors, /inference\.maxObjects must be an integer in \[1, 1000\], got 2\.5/);
    assert.match(errors, /augmentation\.crop must be a number in \[0, 0\.5\], got 0\.9/);
    assert.throws(() => model({ 'training.epochs': 0 }), /training\.epochs must be an integer in \[1, 1000\], got 0/);
  });

  it('gives the uncertainty rankers wrong points before right ones', async () => {
    const predictions = await pointsOf(model({ 'inference.scoreThreshold': 0.05 }).inference(base, test as InferenceData, quiet));
    const { right } = judge(predictions, test);
    await expectUncertainFirst(predictions, (p) => right.has(p));
  });
});

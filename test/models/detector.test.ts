/**
 * The built-in object detector end to end on generated scenes (64×64 PNGs
 * with one to four shapes of four classes, read through a LocalFileSource):
 * mAP, continuing, averaging, class changes, refusals, cancellation,
 * options, and the rankers on its real predictions.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BoundingBoxAnnotation, BoundingBoxPrediction, ImagePredictionsMap, InferenceData, TrainingData } from '../../libs/plugin/data.js';
import { LocalFileSource } from '../../libs/plugin/local-file-source.js';
import { probeContext } from '../../libs/plugin/probe.js';
import { meanAveragePrecision } from '../../models/builtin/detector/average-precision.js';
import { decodeBoxes, iou } from '../../models/builtin/detector/boxes.js';
import { BoundingBoxDetector } from '../../models/builtin/detector/model.js';
import { decodeState, encodeState } from '../../models/builtin/state-format.js';
import { expectStopsAtBatch, expectUncertainFirst, ONE_THREAD, optionsWith, stateOf } from '../support/builtin-models.js';
import { halves, makeScenes, withoutClass, withoutImagesOf } from './scenes.js';
import { labelClasses, PROJECT, SHAPES } from './shapes.js';

const quiet = () => {};
const SCENES = { kind: 'boxes', objects: [1, 4], radius: [6, 14] } as const;
const CLASSES = SHAPES.map((s) => `lc-${s}`);

type Data = TrainingData<BoundingBoxAnnotation>;
const boxes = (predictions: Promise<unknown>) => predictions as Promise<ImagePredictionsMap<BoundingBoxPrediction>>;

describe('built-in detector ("boundingBoxes")', () => {
  let dir: string;
  let train: Data;
  let test: Data;
  let base: Uint8Array;
  let whole: Uint8Array;
  const model = (changes: Record<string, unknown> = {}) =>
    new BoundingBoxDetector({ ...probeContext(optionsWith(BoundingBoxDetector.getDefaultOptions(), { 'training.epochs': 8, ...ONE_THREAD, ...changes })), fileServer: new LocalFileSource(dir, PROJECT) });

  /** mAP@0.5 of a state's predictions on `data` over the classes in `classes`. */
  async function mAP(state: Uint8Array, data: Data, classes = CLASSES): Promise<number> {
    const predictions = await boxes(model().inference(state, data as InferenceData, quiet));
    const images = Object.entries(data.images).map(([id, image]) => ({
      truths: image.annotations!.map((a) => ({ ...a, classIndex: classes.indexOf(a.label!) })),
      detections: predictions[id]!.predictions.map((p) => ({ ...p, score: p.confidence!, classIndex: classes.indexOf(p.label!) })),
    }));
    return meanAveragePrecision(images, classes.length, 0.5);
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'detector-'));
    train = (await makeScenes(dir, 'train', 160, 1, SCENES)) as Data;
    test = (await makeScenes(dir, 'test', 48, 2, SCENES)) as Data;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('scores detections as VOC mAP does, and suppresses overlapping boxes', () => {
    const truths = [{ x: 0.2, y: 0.2, width: 0.2, height: 0.2, classIndex: 0 }, { x: 0.7, y: 0.7, width: 0.2, height: 0.2, classIndex: 0 }];
    const detections = [
      { ...truths[0]!, score: 0.9 },
      { x: 0.5, y: 0.2, width: 0.2, height: 0.2, classIndex: 0, score: 0.8 },
      { ...truths[1]!, x: 0.72, score: 0.7 },
    ];
    // Precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 → interpolated AP = 1/2·1 + 1/2·2/3.
    assert.ok(Math.abs(meanAveragePrecision([{ truths, detections }], 1) - (0.5 + 1 / 3)) < 1e-9);
    // A 4×4 grid, 1 class: a strong peak at cell (0, 0), a weaker one at (2, 2), sizes of one cell, offsets mid-cell.
    const output = new Float32Array(4 * 4 * 5).fill(-9);
    const cell = (x: number, y: number, logit: number) => output.set([logit, 0.5, 0.5, 0, 0], (y * 4 + x) * 5);
    cell(0, 0, 3);
    cell(2, 2, 1);
    cell(3, 2, 0.5); // beside a stronger peak: not a maximum
    const options = { grid: 4, classes: 1, threshold: 0.5, nmsIoU: 0.5, maxBoxes: 10 };
    assert.deepEqual(decodeBoxes(output, options).map((b) => [b.x, b.y, b.width, b.height]), [[0.125, 0.125, 0.25, 0.25], [0.625, 0.625, 0.25, 0.25]]);
    // Four cells wide: the first box is clipped to the image, the second overlaps it (IoU ≈ 0.28) and goes.
    const wide = decodeBoxes(output.map((v, i) => (i % 5 >= 3 ? Math.log(4) : v)), { ...options, nmsIoU: 0.25 });
    assert.deepEqual(wide.map((b) => [b.x, b.width].map((v) => Number(v.toFixed(6)))), [[0.3125, 0.625]]);
  });

  it('finds boxes of four classes: mAP@0.5 ≥ 0.5 on new scenes, with statistics', async (t) => {
    const result = await model().train(null, train, quiet);
    assert.ok(!(result instanceof Uint8Array));
    base = result.state;
    const { stats } = result;
    assert.equal(stats!.images! + stats!.heldOutImages!, 160);
    assert.ok(stats!.heldOutMAP50! > 0.3, `held-out mAP ${stats!.heldOutMAP50}`);
    const score = await mAP(base, test);
    t.diagnostic(`test mAP@0.5 ${score.toFixed(3)}, held-out ${stats!.heldOutMAP50!.toFixed(3)}`);
    assert.ok(score >= 0.5, `test mAP@0.5 ${score}`);
    // Predictions: relative centre and size inside the image, a class, a confidence, one raw logit per class.
    const predictions = Object.values(await boxes(model().inference(base, test as InferenceData, quiet))).flatMap((p) => p.predictions);
    assert.ok(predictions.length >= Object.keys(test.images).length);
    for (const p of predictions) {
      assert.ok(p.x - p.width / 2 >= -1e-6 && p.x + p.width / 2 <= 1 + 1e-6 && p.y - p.height / 2 >= -1e-6 && p.y + p.height / 2 <= 1 + 1e-6);
      assert.ok(CLASSES.includes(p.label!) && p.confidence! >= 0.1 && p.confidence! <= 1 && p.logits!.length === 4);
    }
  });

  it('continuing from a state beats starting from scratch at equal epochs', async () => {
    const short = model({ 'training.epochs': 1 });
    const scratch = await mAP(stateOf(await short.train(null, train, quiet)), test);
    whole = stateOf(await short.train(base, train, quiet));
    const continued = await mAP(whole, test);
    assert.ok(continued > scratch + 0.1, `continued ${continued} vs scratch ${scratch}`);
  });

  it('averaging states trained on two halves comes within a few points of training on the whole', async () => {
    const round = model({ 'training.epochs': 1 });
    const [a, b] = await Promise.all(halves(train).map(async (half) => stateOf(await round.train(base, half, quiet))));
    const averaged = await round.averageModelStates([a!, b!], quiet, [80, 80]);
    const [ofAveraged, ofWhole] = [await mAP(averaged, test), await mAP(whole, test)];
    assert.ok(ofAveraged >= ofWhole - 0.05, `averaged ${ofAveraged} vs whole ${ofWhole}`);
  });

  it('removing and adding a class keeps finding the others', async () => {
    const three = CLASSES.filter((c) => c !== 'lc-cross');
    const noCross = withoutImagesOf(test, 'lc-cross');
    const state3 = stateOf(await model({ 'training.epochs': 1, 'training.learningRate': 0.001 }).train(base, withoutClass(train, 'lc-cross'), quiet));
    assert.deepEqual(decodeState(state3).header.labelClasses, three);
    const predicted = Object.values(await boxes(model().inference(state3, { ...test, labelClasses: labelClasses(SHAPES.filter((s) => s !== 'cross')) }, quiet)));
    assert.ok(predicted.every((p) => p.predictions.every((b) => three.includes(b.label!) && b.logits!.length === 3)));
    const before = await mAP(base, noCross);
    const after3 = await mAP(state3, noCross, three);
    assert.ok(after3 >= before - 0.1, `three classes ${after3} vs four ${before}`);

    const state4 = stateOf(await model({ 'training.epochs': 2, 'training.learningRate': 0.001 }).train(state3, train, quiet));
    assert.deepEqual(decodeState(state4).header.labelClasses, three.concat('lc-cross'));
    const after4 = await mAP(state4, noCross, CLASSES);
    assert.ok(after4 >= before - 0.1, `old classes after adding one: ${after4} vs ${before}`);
  });

  it('refuses states of another model or architecture clearly', async () => {
    const foreign = decodeState(base);
    foreign.header.model = 'builtin.points';
    await assert.rejects(model().train(encodeState(foreign), train, quiet), /model state is from 'builtin\.points', not 'builtin\.boundingBoxes'/);
    const reshaped = decodeState(base);
    reshaped.header.arch = { ...reshaped.header.arch, width: 8 };
    await assert.rejects(model().inference(encodeState(reshaped), test as InferenceData, quiet), /tensors do not match its architecture/);
  });

  it('stops within one batch when cancelled, reporting progress per batch', () =>
    expectStopsAtBatch((update, signal) => model({ 'training.epochs': 5 }).train(null, train, update, signal), 3));

  it('offers valid defaults and names the offending fields', () => {
    const defaults = BoundingBoxDetector.getDefaultOptions();
    const ok = BoundingBoxDetector.verifyOptions(JSON.parse(defaults));
    assert.ok(typeof ok === 'object' && ok?.valid && ok.errors?.length === 0);
    const bad = BoundingBoxDetector.verifyOptions(optionsWith(defaults, { 'inference.scoreThreshold': 2, 'inference.nmsIoU': 'high', 'network.depth': 3, 'network.inputSize': 68 }));
    assert.ok(typeof bad === 'object' && bad && !bad.valid);
    const errors = bad.errors!.join('\n');
    assert.match(errors, /inference\.scoreThreshold must be a number in \[0\.01, 0\.99\], got 2/);
    assert.match(errors, /inference\.nmsIoU must be a number in \[0\.05, 1\], got "high"/);
    assert.match(errors, /network\.inputSize 68 must be a multiple of 2\^depth = 8/);
    assert.throws(() => model({ 'network.depth': 9 }), /network\.depth must be an integer in \[1, 5\], got 9/);
  });

  it('gives the uncertainty rankers wrong boxes before right ones', async () => {
    const predictions = await boxes(model({ 'inference.scoreThreshold': 0.05 }).inference(base, test as InferenceData, quiet));
    // Right: the box matches an unmatched annotated box of its class (IoU ≥ 0.5, strongest first).
    const right = new Set<BoundingBoxPrediction>();
    for (const [id, { predictions: found }] of Object.entries(predictions)) {
      const free = [...test.images[id]!.annotations!];
      for (const p of [...found].sort((a, b) => b.confidence! - a.confidence!)) {
        const k = free.findIndex((t) => t.label === p.label && iou(t, p) >= 0.5);
        if (k >= 0) { right.add(p); free.splice(k, 1); }
      }
    }
    await expectUncertainFirst(predictions, (p) => right.has(p));
  });
});

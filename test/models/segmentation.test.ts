/**
 * The built-in segmentation model end to end on generated shapes (80×64 PNGs
 * with base64 masks, read through a LocalFileSource, trained at 32×32 to fit
 * 2 CPU cores): mean IoU at the image's size, ignoreUnlabeled, continuing,
 * averaging, class changes, refusals, cancellation, options, and the
 * built-in rankers on its real predictions.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ImagePredictionsMap, InferenceData, SegmentationPrediction, TrainingData } from '../../libs/plugin/data.js';
import { LocalFileSource } from '../../libs/plugin/local-file-source.js';
import type { RankerClass } from '../../libs/plugin/plugin.js';
import { rankInMemory } from '../../libs/plugin/pool-selection.js';
import { probeContext } from '../../libs/plugin/probe.js';
import { SegmentationModel } from '../../models/builtin/segmentation/model.js';
import { decodeState, encodeState } from '../../models/builtin/state-format.js';
import { BreakingTiesRanker } from '../../models/rankers/breaking-ties.js';
import { EntropyRanker } from '../../models/rankers/entropy.js';
import { LeastConfidenceRanker } from '../../models/rankers/least-confidence.js';
import { MaxConfidenceRanker } from '../../models/rankers/max-confidence.js';
import { expectStopsAtBatch, ONE_THREAD, optionsWith, stateOf } from '../support/builtin-models.js';
import { meanIoU } from '../support/mask-iou.js';
import { GROUND_INDEX, HEIGHT, makeMaskSet, maskClasses, WIDTH, type MaskSet } from './shape-masks.js';
import { PROJECT } from './shapes.js';

const quiet = () => {};

/** Default options at 32×32 and a faster learning rate, with some fields changed, e.g. { 'training.epochs': 2 }. */
const options = (changes: Record<string, number | boolean> = {}) =>
  optionsWith(SegmentationModel.getDefaultOptions(), { 'network.inputSize': 32, 'training.learningRate': 0.005, ...ONE_THREAD, ...changes });

type Masks = ImagePredictionsMap<SegmentationPrediction>;

describe('built-in segmentation model ("segmentationMasks")', () => {
  let dir: string;
  let train: MaskSet;
  let test: MaskSet;
  let base: Uint8Array;
  const model = (changes?: Record<string, number | boolean>) =>
    new SegmentationModel({ ...probeContext(options(changes)), fileServer: new LocalFileSource(dir, PROJECT) });
  const predict = async (state: Uint8Array, data: TrainingData, changes?: Record<string, number | boolean>) =>
    (await model(changes).inference(state, data as InferenceData, quiet)) as Masks;
  const iouOf = async (state: Uint8Array, set: MaskSet = test, skip?: (index: number) => boolean) => meanIoU(await predict(state, set.data), set.truth, skip);

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'segmentation-'));
    train = await makeMaskSet(dir, 'train', 150, 1, { background: 'index0' });
    test = await makeMaskSet(dir, 'test', 30, 2, { background: 'index0' });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('learns the shapes: mean IoU ≥ 0.6 on new images, maps the size of each image', async () => {
    const result = await model({ 'training.epochs': 6 }).train(null, train.data, quiet);
    assert.ok(!(result instanceof Uint8Array));
    base = result.state;
    const { stats } = result;
    assert.equal(stats!.images! + stats!.heldOutImages!, 150);
    assert.ok(stats!.heldOutMeanIoU! > 0.5, `held-out split mean IoU ${stats!.heldOutMeanIoU}`);
    const predictions = await predict(base, test.data);
    const iou = meanIoU(predictions, test.truth);
    assert.ok(iou >= 0.6, `test mean IoU ${iou}`);

    // Label, confidence and per-class probability maps at the image's 80×64, classes by their mask index.
    const p = Object.values(predictions)[0]!.predictions[0]!;
    assert.equal(p.width, WIDTH);
    assert.equal(p.height, HEIGHT);
    assert.equal(p.labelMap.length, WIDTH * HEIGHT);
    assert.ok(p.labelMap.every((v) => v <= 3));
    assert.equal(p.numClasses, 4);
    assert.equal(p.logitsMap!.length, 4 * WIDTH * HEIGHT);
    for (const i of [0, 1234, WIDTH * HEIGHT - 1]) {
      const column = [0, 1, 2, 3].map((c) => p.logitsMap![c * WIDTH * HEIGHT + i]!);
      assert.ok(Math.abs(column.reduce((a, b) => a + b) - 1) < 1e-5);
      assert.ok(Math.abs(Math.max(...column) - p.confidenceMap[i]!) < 1e-6);
      assert.equal(p.labelMap[i], column.indexOf(Math.max(...column)));
    }
    // Without probability maps, and for an image that cannot be read.
    const [id, image] = Object.entries(test.data.images)[0]!;
    const lean = await predict(base, { ...test.data, images: { [id]: image, gone: { filename: 'test/missing.png' } } }, { 'output.logitsMaps': false });
    assert.equal(lean[id]!.predictions[0]!.logitsMap, undefined);
    assert.deepEqual(lean[id]!.predictions[0]!.labelMap, predictions[id]!.predictions[0]!.labelMap);
    assert.deepEqual(lean.gone, { predictions: [], unreadable: 'not found' }, 'a missing image is reported, not silently empty');
  });

  it('ignoreUnlabeled: unlabelled pixels teach nothing, not "background"', async () => {
    // Background is a class of its own ("ground"); every shape's left half is left unlabelled (0).
    const hidden = await makeMaskSet(dir, 'hidden', 150, 3, { background: 'ground', hideLeftHalves: true });
    const full = await makeMaskSet(dir, 'full', 30, 4, { background: 'ground' });
    const state = stateOf(await model({ 'training.epochs': 8 }).train(null, hidden.data, quiet));
    assert.deepEqual(decodeState(state).header.labelClasses, ['lc-circle', 'lc-square', 'lc-triangle', 'lc-ground']);
    const predictions = await predict(state, full.data);
    // No output stands for pixels 0, and the hidden halves come out as the shapes they are.
    assert.ok(Object.values(predictions).every(({ predictions: [p] }) => p!.labelMap.every((v) => v > 0)));
    let shapePixels = 0;
    let found = 0;
    for (const [id, truth] of Object.entries(full.truth)) {
      const { labelMap } = predictions[id]!.predictions[0]!;
      truth.forEach((t, i) => { if (t !== GROUND_INDEX) { shapePixels++; if (labelMap[i] === t) found++; } });
    }
    // Counted as background, the same masks teach "left half = background": 0.15 of the shape pixels were found then.
    assert.ok(found / shapePixels >= 0.5, `shape pixels found ${found / shapePixels}`);

    // Counted as background in a project without a class of index 0: the state keeps a background output of its own.
    const few = { ...hidden.data, ignoreUnlabeled: false, images: Object.fromEntries(Object.entries(hidden.data.images).slice(0, 8)) };
    const own = stateOf(await model({ 'training.epochs': 1 }).train(null, few, quiet));
    assert.deepEqual(decodeState(own).header.labelClasses, ['__background__', 'lc-circle', 'lc-square', 'lc-triangle', 'lc-ground']);
  });

  it('continuing from a state beats starting from scratch at equal epochs', async () => {
    const short = model({ 'training.epochs': 1 });
    const scratch = await iouOf(stateOf(await short.train(null, train.data, quiet)));
    const continued = await iouOf(stateOf(await short.train(base, train.data, quiet)));
    assert.ok(continued > scratch, `continued ${continued} vs scratch ${scratch}`);
  });

  it('averaging states trained on two halves comes within a few points of training on the whole', async () => {
    const round = model({ 'training.epochs': 1, 'training.learningRate': 0.001 });
    const half = (h: number) => ({ ...train.data, images: Object.fromEntries(Object.entries(train.data.images).filter((_, i) => i % 2 === h)) });
    const [a, b] = await Promise.all([0, 1].map(async (h) => stateOf(await round.train(base, half(h), quiet))));
    const averaged = await round.averageModelStates([a!, b!], quiet, [75, 75]);
    const whole = stateOf(await round.train(base, train.data, quiet));
    const [iouAveraged, iouWhole] = [await iouOf(averaged), await iouOf(whole)];
    assert.ok(iouAveraged >= iouWhole - 0.05, `averaged ${iouAveraged} vs whole ${iouWhole}`);
  });

  it('removing and adding a class keeps the IoU of the others', async () => {
    // IoU of the other classes: triangle pixels of the truth do not count (predicting "triangle" elsewhere does).
    const isTriangle = (index: number) => index === 3;
    const before = await iouOf(base, test, isTriangle);
    const { 'lc-triangle': _, ...withoutTriangle } = maskClasses('index0');
    const state3 = stateOf(await model({ 'training.epochs': 1, 'training.learningRate': 0.002 }).train(base, { ...train.data, labelClasses: withoutTriangle }, quiet));
    assert.deepEqual(decodeState(state3).header.labelClasses, ['lc-background', 'lc-circle', 'lc-square']);
    const old3 = await iouOf(state3, { ...test, data: { ...test.data, labelClasses: withoutTriangle } }, isTriangle);
    assert.ok(old3 >= before - 0.05, `other classes after removing one: ${old3}, before ${before}`);

    const state4 = stateOf(await model({ 'training.epochs': 2, 'training.learningRate': 0.002 }).train(state3, train.data, quiet));
    assert.equal(decodeState(state4).header.labelClasses.length, 4);
    const old4 = await iouOf(state4, test, isTriangle);
    assert.ok(old4 >= before - 0.05, `other classes after adding one: ${old4}, before ${before}`);
  });

  it('refuses states of another architecture or model, and malformed masks, clearly', async () => {
    const few = { ...train.data, images: Object.fromEntries(Object.entries(train.data.images).slice(0, 8)) };
    const narrow = stateOf(await model({ 'training.epochs': 1, 'network.width': 4 }).train(null, few, quiet));
    await assert.rejects(model().averageModelStates([base, narrow], quiet), /another architecture: width 4 ≠ 8/);
    const foreign = decodeState(base);
    foreign.header.model = 'builtin.labels';
    await assert.rejects(model().train(encodeState(foreign), train.data, quiet), /model state is from 'builtin\.labels', not 'builtin\.segmentationMasks'/);
    await assert.rejects(model().inference(base, { ...test.data, labelClasses: {} } as InferenceData, quiet), /none of the label classes/);
    const [id, image] = Object.entries(train.data.images)[0]!;
    const cut = { ...image, annotations: [{ segmentationMask: Buffer.from([1, 2, 3]).toString('base64'), width: WIDTH, height: HEIGHT }] };
    await assert.rejects(model().train(null, { ...train.data, images: { [id]: cut } }, quiet), new RegExp(`image ${id}: segmentation mask has 3 bytes, expected 80×64`));
  });

  it('stops within one batch when cancelled, reporting progress per batch', () =>
    expectStopsAtBatch((update, signal) => model({ 'training.epochs': 5 }).train(null, train.data, update, signal), 3));

  it('offers valid defaults and names the offending fields', () => {
    const defaults = SegmentationModel.getDefaultOptions();
    assert.ok(defaults.includes('\n  '), 'pretty-printed');
    const ok = SegmentationModel.verifyOptions(JSON.parse(defaults));
    assert.ok(typeof ok === 'object' && ok?.valid && ok.errors?.length === 0);
    const bad = SegmentationModel.verifyOptions(options({ 'network.width': 0, 'network.depth': 3, 'network.inputSize': 36, 'output.logitsMaps': 'yes' as unknown as boolean }));
    assert.ok(typeof bad === 'object' && bad && !bad.valid);
    assert.match(bad.errors!.join('\n'), /network\.width must be an integer in \[4, 128\], got 0/);
    assert.match(bad.errors!.join('\n'), /output\.logitsMaps must be true or false, got "yes"/);
    assert.match(bad.errors!.join('\n'), /network\.inputSize 36 must be a multiple of 2\^depth = 8/);
    assert.throws(() => model({ 'training.batchSize': 0 }), /training\.batchSize must be an integer in \[1, 512\]/);
  });

  it("the built-in rankers put the model's uncertain predictions first", async () => {
    // Faint shapes in heavy noise among ordinary images: the model errs more on them, and should know it.
    const hard = await makeMaskSet(dir, 'hard', 10, 5, { background: 'index0', hard: true });
    const data = { ...test.data, images: { ...test.data.images, ...hard.data.images } };
    const truth = { ...test.truth, ...hard.truth };
    const error = (predictions: Masks, id: string) => {
      const { labelMap } = predictions[id]!.predictions[0]!;
      return truth[id]!.reduce((wrong, t, i) => wrong + (labelMap[i] === t ? 0 : 1), 0) / truth[id]!.length;
    };
    const predictions = await predict(base, data);
    const ids = Object.keys(truth);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const hardIds = Object.keys(hard.truth);
    assert.ok(mean(hardIds.map((id) => error(predictions, id))) > mean(Object.keys(test.truth).map((id) => error(predictions, id))), 'hard images are harder');

    const rankers: [RankerClass, 'uncertain' | 'certain'][] = [
      [EntropyRanker, 'uncertain'], [LeastConfidenceRanker, 'uncertain'], [BreakingTiesRanker, 'uncertain'], [MaxConfidenceRanker, 'certain'],
    ];
    for (const [Ranker, first] of rankers) {
      const ranked = await rankInMemory(new Ranker(probeContext({})), structuredClone(predictions), quiet);
      const priority = (id: string) => ranked[id]!.predictions[0]!.priority!;
      assert.ok(ids.every((id) => priority(id) >= 0 && priority(id) <= 1));
      // The images ranked first (as many as there are hard ones) are mostly the ones the model gets most wrong.
      const order = [...ids].sort((a, b) => priority(b) - priority(a));
      const top = order.slice(0, hardIds.length);
      const rest = order.slice(hardIds.length);
      const [topError, restError] = [mean(top.map((id) => error(predictions, id))), mean(rest.map((id) => error(predictions, id)))];
      const name = Ranker.metadata.key;
      if (first === 'uncertain') assert.ok(topError > 2 * restError, `${name}: error of the first ${topError}, of the rest ${restError}`);
      else assert.ok(topError < restError, `${name}: error of the first ${topError}, of the rest ${restError}`);
    }
  });
});

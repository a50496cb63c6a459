/**
 * The built-in image classifier end to end on generated shapes (64×64 PNGs
 * read through a LocalFileSource, trained at 32×32 to fit 2 CPU cores):
 * accuracy, continuing, averaging, class changes, refusals.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ImagePredictionsMap, InferenceData, LabelAnnotation, LabelPrediction, TrainingData } from '../../libs/plugin/data.js';
import { LocalFileSource } from '../../libs/plugin/local-file-source.js';
import { probeContext } from '../../libs/plugin/probe.js';
import { LabelsClassifier } from '../../models/builtin/classifier/model.js';
import { decodeState, encodeState } from '../../models/builtin/state-format.js';
import { expectStopsAtBatch, ONE_THREAD, optionsWith, stateOf } from '../support/builtin-models.js';
import { labelClasses, makeShapeSet, PROJECT, SHAPES, subset } from './shapes.js';

const quiet = () => {};

/** Default options at 32×32 with some fields changed, e.g. { 'training.epochs': 2 }. */
const options = (changes: Record<string, number | boolean> = {}) => optionsWith(LabelsClassifier.getDefaultOptions(), { 'network.inputSize': 32, ...ONE_THREAD, ...changes });

const labels = (predictions: Promise<unknown>) => predictions as Promise<ImagePredictionsMap<LabelPrediction>>;

describe('built-in classifier ("labels")', () => {
  let dir: string;
  let train: TrainingData<LabelAnnotation>;
  let test: TrainingData<LabelAnnotation>;
  let base: Uint8Array;
  const model = (changes?: Record<string, number | boolean>) =>
    new LabelsClassifier({ ...probeContext(options(changes)), fileServer: new LocalFileSource(dir, PROJECT) });

  /** Fraction of `data`'s images predicted as labelled (only those whose label `keep` accepts). */
  async function accuracy(state: Uint8Array, data: TrainingData<LabelAnnotation>, keep: (label: string) => boolean = () => true): Promise<number> {
    const predictions = await labels(model().inference(state, data as InferenceData, quiet));
    const judged = Object.entries(data.images).filter(([, image]) => keep(image.annotations![0]!.label!));
    const right = judged.filter(([id, image]) => predictions[id]!.predictions[0]?.label === image.annotations![0]!.label);
    return right.length / judged.length;
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'classifier-'));
    train = await makeShapeSet(dir, 'train', 100, 1);
    test = await makeShapeSet(dir, 'test', 30, 2);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('learns the four shapes: ≥ 90 % on held-out images, with statistics', async () => {
    const result = await model().train(null, train, quiet);
    assert.ok(!(result instanceof Uint8Array));
    base = result.state;
    const { stats } = result;
    assert.equal(stats!.images! + stats!.heldOutImages!, 400);
    assert.ok(stats!.heldOutAccuracy! >= 0.85, `held-out split accuracy ${stats!.heldOutAccuracy}`);
    const acc = await accuracy(base, test);
    assert.ok(acc >= 0.9, `test accuracy ${acc}`);
    // Predictions carry a label, its confidence and one probability per class.
    const [id] = Object.keys(test.images);
    const p = (await labels(model().inference(base, { ...test, images: { [id!]: test.images[id!]! } }, quiet)))[id!]!.predictions[0]!;
    assert.equal(p.logits!.length, 4);
    assert.ok(Math.abs(p.logits!.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  });

  it('gives each image an embedding (its penultimate features) that puts images of a shape closer together than images of different shapes', async () => {
    const predictions = await labels(model().inference(base, test as InferenceData, quiet));
    const entries = Object.entries(test.images).map(([id, image]) => ({ label: image.annotations![0]!.label!, e: predictions[id]!.embedding! }));
    const { width, depth } = decodeState(base).header.arch as { width: number; depth: number };
    assert.ok(entries.every(({ e }) => e instanceof Float32Array && e.length === width * 2 ** (depth - 1) && e.every(Number.isFinite)));
    const distance = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));
    let same = 0, sameN = 0, other = 0, otherN = 0;
    entries.forEach((a, i) => entries.slice(i + 1).forEach((b) => {
      if (a.label === b.label) { same += distance(a.e, b.e); sameN++; } else { other += distance(a.e, b.e); otherN++; }
    }));
    assert.ok(same / sameN < 0.8 * (other / otherN), `mean distance within a shape ${same / sameN}, across shapes ${other / otherN}`);
  });

  it('continuing from a state beats starting from scratch at equal epochs', async () => {
    const short = model({ 'training.epochs': 1 });
    const [scratch, continued] = [await short.train(null, train, quiet), await short.train(base, train, quiet)];
    assert.ok(!(scratch instanceof Uint8Array) && !(continued instanceof Uint8Array));
    // The training loss is compared, not accuracy: both may reach 100 %, but a network that starts trained
    // starts (and so averages) far lower; one that ignored its input state would match scratch exactly.
    const [lossScratch, lossContinued] = [scratch.stats!.trainLoss!, continued.stats!.trainLoss!];
    assert.ok(lossContinued < lossScratch, `training loss continued ${lossContinued} vs scratch ${lossScratch}`);
    const [accScratch, accContinued] = [await accuracy(scratch.state, test), await accuracy(continued.state, test)];
    assert.ok(accContinued >= accScratch, `accuracy continued ${accContinued} vs scratch ${accScratch}`);
  });

  it('averaging states trained on two halves comes within a few points of training on the whole', async () => {
    const round = model({ 'training.epochs': 1, 'training.learningRate': 0.001 });
    const halves = [0, 1].map((h) => subset(train, (_, i) => i % 2 === h));
    const [a, b] = await Promise.all(halves.map(async (half) => stateOf(await round.train(base, half, quiet))));
    const averaged = await round.averageModelStates([a!, b!], quiet, [300, 300]);
    const whole = stateOf(await round.train(base, train, quiet));
    const [accAveraged, accWhole] = [await accuracy(averaged, test), await accuracy(whole, test)];
    assert.ok(accAveraged >= accWhole - 0.05, `averaged ${accAveraged} vs whole ${accWhole}`);
  });

  it('removing and adding a class keeps accuracy on the others', async () => {
    const three = SHAPES.filter((s) => s !== 'cross');
    const isOld = (label: string) => label !== 'lc-cross';
    const oldOnly = { ...subset(train, (id) => !id.includes('cross')), labelClasses: labelClasses(three) };
    const state3 = stateOf(await model({ 'training.epochs': 1 }).train(base, oldOnly, quiet));
    assert.deepEqual(decodeState(state3).header.labelClasses, three.map((s) => `lc-${s}`));
    assert.ok((await accuracy(state3, test, isOld)) >= 0.9);

    const state4 = stateOf(await model({ 'training.epochs': 2 }).train(state3, train, quiet));
    assert.equal(decodeState(state4).header.labelClasses.length, 4);
    const old = await accuracy(state4, test, isOld);
    assert.ok(old >= 0.9, `old classes after adding one: ${old}`);
  });

  it('refuses states of another architecture or model clearly', async () => {
    const narrow = stateOf(await model({ 'training.epochs': 1, 'network.width': 8 }).train(null, subset(train, (_, i) => i < 32), quiet));
    await assert.rejects(model().averageModelStates([base, narrow], quiet), /another architecture: width 8 ≠ 16/);
    const foreign = decodeState(base);
    foreign.header.model = 'examples.other';
    await assert.rejects(model().train(encodeState(foreign), train, quiet), /model state is from 'examples\.other', not 'builtin\.labels'/);
    const json = new TextEncoder().encode(JSON.stringify({ version: 1, centroids: {} }));
    await assert.rejects(model().inference(json, test as InferenceData, quiet), /not a valid built-in model state: wrong magic/);
  });

  it('stops within one batch when cancelled, reporting progress per batch', () =>
    expectStopsAtBatch((update, signal) => model({ 'training.epochs': 5 }).train(null, train, update, signal), 3));

  it('offers valid defaults and names the offending fields', () => {
    const defaults = LabelsClassifier.getDefaultOptions();
    assert.ok(defaults.includes('\n  '), 'pretty-printed');
    const ok = LabelsClassifier.verifyOptions(JSON.parse(defaults));
    assert.ok(typeof ok === 'object' && ok?.valid && ok.errors?.length === 0);
    const bad = LabelsClassifier.verifyOptions(options({ 'training.learningRate': -1, 'network.depth': 3, 'network.inputSize': 20, 'augmentation.flip': 3 as unknown as boolean }));
    assert.ok(typeof bad === 'object' && bad && !bad.valid);
    assert.match(bad.errors!.join('\n'), /training\.learningRate must be a number in \[0\.000001, 1\], got -1/);
    assert.match(bad.errors!.join('\n'), /augmentation\.flip must be true or false, got 3/);
    assert.match(bad.errors!.join('\n'), /network\.inputSize 20 must be a multiple of 2\^depth = 8/);
    assert.throws(() => model({ 'training.batchSize': 0 }), /training\.batchSize must be an integer in \[1, 512\]/);
  });
});

/**
 * Tiling large images with the built-in segmentation model: stitching the
 * windows' maps (each pixel from the one window whose core owns it),
 * training windows around labelled areas with their masks cut alike, the
 * tiling options, and end to end a U-Net trained on windows of generated
 * 1024×1024 images segmenting small circles, triangles and crosses in a
 * generated 1800×1536 image — shapes that squashing the image to the input
 * size loses, as a model without tiling shows on the same data.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import seedrandom from 'seedrandom';
import type { ImagePredictionsMap, InferenceData, SegmentationMaskAnnotation, SegmentationPrediction, TrainingData } from '../../libs/plugin/data.js';
import { LocalFileSource } from '../../libs/plugin/local-file-source.js';
import { encodeMask } from '../../libs/plugin/masks.js';
import { probeContext } from '../../libs/plugin/probe.js';
import { emptyPrediction, stitchWindow, windowOutputs } from '../../models/builtin/segmentation/mask-maps.js';
import { SegmentationModel } from '../../models/builtin/segmentation/model.js';
import { labelledAreas } from '../../models/builtin/tiling/areas.js';
import { corePixels, ownsCentre, slidingWindows } from '../../models/builtin/tiling/windows.js';
import { ONE_THREAD, optionsWith, stateOf } from '../support/builtin-models.js';
import { classIoUs, meanIoU } from '../support/mask-iou.js';
import { scatter, writeLargeScene } from './large-scenes.js';
import { labelClasses, PROJECT, type Shape } from './shapes.js';

const quiet = () => {};
const SHAPES3: readonly Shape[] = ['circle', 'triangle', 'cross'];
/** Pixels 0 are background, a class of its own (AIDE's index 0). */
const CLASSES = { 'lc-background': { name: 'background', color: null, index: 0 }, ...labelClasses(SHAPES3) };
/** Largest object 2 × 18 = 36 pixels ≤ the overlap; windows of 64 at an input of 32 show an object 10–18 input pixels across. */
const RADIUS = [10, 18] as const;
const GEOMETRY = { size: 64, overlap: 36 };
const INPUT = 32;
/** Sparse training images: many background colours for few objects. */
const [TRAIN_SIDE, TRAIN_IMAGES, TRAIN_OBJECTS, NEGATIVES] = [1024, 4, 15, 4];
const [BIG_W, BIG_H] = [1800, 1536];

type Masks = ImagePredictionsMap<SegmentationPrediction>;

describe('tiling large images (built-in segmentation model)', () => {
  let dir: string;
  let train: TrainingData<SegmentationMaskAnnotation>;
  let objects = 0;
  let bigTruth: Uint8Array;
  const model = (changes: Record<string, unknown> = {}) => new SegmentationModel({
    ...probeContext(optionsWith(SegmentationModel.getDefaultOptions(), {
      'tiling.enabled': true, 'tiling.windowSize': GEOMETRY.size, 'tiling.overlap': GEOMETRY.overlap, 'tiling.negatives': NEGATIVES,
      'network.inputSize': INPUT, 'training.epochs': 40, 'training.learningRate': 0.008, 'training.validationFraction': 0,
      // Object colours are random, not their class's: strong jitter keeps the model on shapes.
      'augmentation.colourJitter': 0.4, ...ONE_THREAD, ...changes,
    })),
    fileServer: new LocalFileSource(dir, PROJECT),
  });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'segmentation-tiling-'));
    const random = seedrandom('segmentation-tiling');
    const images: TrainingData<SegmentationMaskAnnotation>['images'] = {};
    for (let k = 0; k < TRAIN_IMAGES; k++) {
      const placed = scatter(random, TRAIN_SIDE, TRAIN_SIDE, TRAIN_OBJECTS, SHAPES3, RADIUS);
      objects += placed.length;
      const filename = `train/large-${k}.png`;
      const { classes } = await writeLargeScene(dir, filename, TRAIN_SIDE, TRAIN_SIDE, placed, `train-${k}`);
      images[`train-${k}`] = { filename, annotations: [{ id: `mask-${k}`, ...encodeMask(classes, TRAIN_SIDE, TRAIN_SIDE) }] };
    }
    train = { images, labelClasses: CLASSES, ignoreUnlabeled: false };
    bigTruth = (await writeLargeScene(dir, 'big/ortho.png', BIG_W, BIG_H, scatter(random, BIG_W, BIG_H, 80, SHAPES3, RADIUS), 'big')).classes;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('stitching takes every pixel from the one window whose core owns it', () => {
    // An odd overlap puts core boundaries mid-pixel; the last window on each axis, flush with the edge, overlaps more.
    const [W, H] = [1000, 700];
    const plan = slidingWindows(W, H, { size: 128, overlap: 33 });
    const [size, indices] = [8, [0, 2, 5]];
    // Window k predicts everywhere output 1 (mask index 2) with a probability of its own.
    const share = (k: number) => 0.5 + k / (2 * plan.length);
    const constant = (k: number) => Float32Array.from({ length: size * size * 3 }, (_, i) => (i % 3 === 1 ? share(k) : (1 - share(k)) / 2));
    // Forwards and backwards: a pixel written by a window not owning it would show in one order or the other.
    for (const order of [plan.keys(), [...plan.keys()].reverse()]) {
      const maps = emptyPrediction({ indices, width: W, height: H, logits: true });
      for (const k of order) stitchWindow(maps, constant(k), size, indices, plan[k]!);
      assert.deepEqual([maps.width, maps.height, maps.labelMap.length, maps.logitsMap!.length], [W, H, W * H, 3 * W * H]);
      // Region by region: each window's owned pixels (centres in its core) carry its value; every pixel is owned once.
      const owners = new Uint8Array(W * H);
      plan.forEach((w, k) => {
        let [owned, wrong] = [0, 0];
        for (let y = w.top; y < w.top + w.height; y++) {
          for (let x = w.left; x < w.left + w.width; x++) {
            if (!ownsCentre(w, x + 0.5, y + 0.5)) continue;
            const i = y * W + x;
            owners[i]!++;
            owned++;
            const fine = maps.labelMap[i] === 2 && Math.abs(maps.confidenceMap[i]! - share(k)) < 1e-6 && Math.abs(maps.logitsMap![W * H + i]! - share(k)) < 1e-6;
            if (!fine) wrong++;
          }
        }
        assert.equal(wrong, 0, `window ${k} at (${w.left}, ${w.top})`);
        const core = corePixels(w);
        assert.equal(owned, (core.right - core.left) * (core.bottom - core.top), `window ${k}: its core's pixels`);
      });
      assert.ok(owners.every((n) => n === 1), 'every pixel owned by exactly one window');
    }
  });

  it('finds labelled areas run by run and cuts window masks nearest-neighbour, unlabelled pixels staying unlabelled', () => {
    // A U of 1s (two runs above joined below), a 2, two 3s touching only diagonally, a row of 0s; −1 unlabelled.
    const map = [
      1, -1, 1, 2, -1, 3,
      1, -1, 1, -1, 3, -1,
      1, 1, 1, -1, -1, -1,
      -1, -1, -1, 0, 0, 0,
    ];
    const box = (x0: number, y0: number, x1: number, y1: number) => ({ x: (x0 + x1) / 12, y: (y0 + y1) / 8, width: (x1 - x0) / 6, height: (y1 - y0) / 4 });
    const areas = [box(0, 0, 3, 3), box(3, 0, 4, 1), box(5, 0, 6, 1), box(4, 1, 5, 2), box(3, 3, 6, 4)];
    assert.deepEqual(labelledAreas(map, 6, 4), areas);
    assert.deepEqual(labelledAreas(map, 6, 4, (v) => v > 0), areas.slice(0, 4), 'background (0) left out');

    // An 8×8 map (value 10·y + x, −1 at (5, 3)) covering an 8×8 image: window (2, 2, 4×4) at 2×2 samples columns and rows 3 and 5.
    const outputs = Int16Array.from({ length: 64 }, (_, i) => (i === 3 * 8 + 5 ? -1 : 10 * Math.floor(i / 8) + (i % 8)));
    const window = { left: 2, top: 2, width: 4, height: 4 };
    const cut = windowOutputs({ width: 8, height: 8, outputs, background: 0 }, window, 8, 8, 2);
    assert.deepEqual([cut.width, cut.height, cut.background, Array.from(cut.outputs)], [2, 2, 0, [33, -1, 53, 55]]);
    // A mask at half the image's size: the same window samples its columns and rows 1 and 2.
    const half = Int16Array.from({ length: 16 }, (_, i) => 10 * Math.floor(i / 4) + (i % 4));
    assert.deepEqual(Array.from(windowOutputs({ width: 4, height: 4, outputs: half, background: -1 }, window, 8, 8, 2).outputs), [11, 12, 21, 22]);
  });

  it('verifies the tiling options field by field', () => {
    const defaults = SegmentationModel.getDefaultOptions();
    assert.ok(defaults.includes('\n  '), 'pretty-printed');
    const tiling = JSON.parse(defaults).options.tiling;
    assert.deepEqual([tiling.enabled.value, tiling.windowSize.value, tiling.overlap.value, tiling.negatives.value], [false, 512, 64, 2]);
    const ok = SegmentationModel.verifyOptions(JSON.parse(defaults));
    assert.ok(typeof ok === 'object' && ok?.valid);
    const bad = SegmentationModel.verifyOptions(optionsWith(defaults, { 'tiling.windowSize': 128, 'tiling.overlap': 128, 'tiling.negatives': -1 }));
    assert.ok(typeof bad === 'object' && bad && !bad.valid);
    const errors = bad.errors!.join('\n');
    assert.match(errors, /tiling\.overlap 128 must be less than tiling\.windowSize 128/);
    assert.match(errors, /tiling\.negatives must be an integer in \[0, 1000\], got -1/);
    assert.throws(() => model({ 'tiling.overlap': GEOMETRY.size }), new RegExp(`tiling\\.overlap ${GEOMETRY.size} must be less than tiling\\.windowSize ${GEOMETRY.size}`));
  });

  it('trained on windows, segments small shapes in an 1800×1536 image at its own size; squashed whole, it cannot', async () => {
    const started = performance.now();
    const result = await model().train(null, train, quiet);
    assert.ok(!(result instanceof Uint8Array));
    // One window per shape (background is no area to train around) plus the negatives, per image.
    assert.equal(result.stats!.images, objects + TRAIN_IMAGES * NEGATIVES);
    const trained = performance.now();
    const data: InferenceData = { images: { big: { filename: 'big/ortho.png' }, gone: { filename: 'big/missing.png' } }, labelClasses: CLASSES };
    const predictions = await model().inference(result.state, data, quiet) as Masks;
    const inferred = performance.now();

    assert.deepEqual(predictions.gone, { predictions: [], unreadable: 'not found' }, 'a missing image is reported, not silently empty');
    const p = predictions.big!.predictions[0]!;
    assert.deepEqual([p.width, p.height, p.labelMap.length, p.confidenceMap.length], [BIG_W, BIG_H, BIG_W * BIG_H, BIG_W * BIG_H]);
    // Planes in output order: background, circle, triangle, cross (mask indices 0, 1, 3, 4).
    assert.equal(p.numClasses, 4);
    assert.equal(p.logitsMap!.length, 4 * BIG_W * BIG_H);
    const random = seedrandom('pixels');
    for (let n = 0; n < 200; n++) {
      const i = Math.floor(random() * BIG_W * BIG_H);
      const column = [0, 1, 2, 3].map((c) => p.logitsMap![c * BIG_W * BIG_H + i]!);
      assert.ok(Math.abs(column.reduce((a, b) => a + b) - 1) < 1e-5);
      assert.ok(Math.abs(Math.max(...column) - p.confidenceMap[i]!) < 1e-6);
      assert.equal(p.labelMap[i], [0, 1, 3, 4][column.indexOf(Math.max(...column))]);
    }

    const truth = { big: bigTruth };
    const tiled = meanIoU(predictions, truth);
    // Without tiling: trained and predicting on whole images squashed to the input size.
    const whole = stateOf(await model({ 'tiling.enabled': false }).train(null, train, quiet));
    const squashed = await model({ 'tiling.enabled': false }).inference(whole, data, quiet) as Masks;
    const untiled = meanIoU(squashed, truth);
    const perClass = (m: Masks) => [...classIoUs(m, truth)].map(([k, v]) => `${k}: ${v.toFixed(3)}`).join(', ');
    console.log(`segmentation tiling: mean IoU ${tiled.toFixed(3)} (${perClass(predictions)}) vs ${untiled.toFixed(3)} untiled (${perClass(squashed)}); ${objects} training shapes, train ${((trained - started) / 1000).toFixed(1)} s, infer ${((inferred - trained) / 1000).toFixed(1)} s`);
    assert.ok(tiled >= 0.6, `mean IoU with tiling ${tiled}`);
    assert.ok(tiled >= untiled + 0.25, `mean IoU with tiling ${tiled}, without ${untiled}`);
    assert.deepEqual([squashed.big!.predictions[0]!.width, squashed.big!.predictions[0]!.height], [BIG_W, BIG_H]);
  });
});

/**
 * Tiling large images with the built-in detector: merging overlapping
 * windows' predictions (no training), reading windows from a server-decoding
 * source, the tiling options, and end to end a detector trained on windows
 * of generated 1000×1000 images finding circles and crosses in a generated
 * 4000×4000 image — some exactly across window seams — in whole-image
 * coordinates, each once.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import seedrandom from 'seedrandom';
import sharp from 'sharp';
import type { FileSource } from '../../libs/plugin/context.js';
import type { BoundingBoxAnnotation, BoundingBoxPrediction, ImagePredictionsMap, InferenceData, TrainingData } from '../../libs/plugin/data.js';
import { LocalFileSource } from '../../libs/plugin/local-file-source.js';
import { probeContext } from '../../libs/plugin/probe.js';
import { iou, suppress } from '../../models/builtin/detector/boxes.js';
import { BoundingBoxDetector } from '../../models/builtin/detector/model.js';
import { openLargeImage, type LargeImage } from '../../models/builtin/tiling/large-image.js';
import { ownedPredictions, placeInImage, placeInWindow } from '../../models/builtin/tiling/placement.js';
import { slidingWindows, toWindow, type PlannedWindow } from '../../models/builtin/tiling/windows.js';
import { thinPoints } from '../../models/builtin/points/decode.js';
import { ONE_THREAD, optionsWith } from '../support/builtin-models.js';
import { scatter, writeLargeScene, type LargeObject } from './large-scenes.js';
import { labelClasses, PROJECT, type Shape } from './shapes.js';

const quiet = () => {};
const SHAPES2: readonly Shape[] = ['circle', 'cross'];
const GEOMETRY = { size: 256, overlap: 64 };
/** Largest object side 2 × 26 = 52 ≤ the overlap, so each object is whole in the window owning it. */
const RADIUS = [14, 26] as const;
const BIG = 4000;

type Box = { x: number; y: number; width: number; height: number };

/** Objects centred exactly on seams: on core boundaries (one or both axes) and on window edges. */
function seamObjects(plan: readonly PlannedWindow[], size: number, random: () => number): LargeObject[] {
  const boundaries = [...new Set(plan.map((w) => w.core.right).filter((b) => b < size))];
  const edges = [...new Set(plan.map((w) => w.left + w.width).filter((e) => e < size))];
  const out: LargeObject[] = [];
  const add = (cx: number, cy: number) => {
    const r = RADIUS[0] + random() * (RADIUS[1] - RADIUS[0]);
    if (out.every((o) => Math.hypot(o.cx - cx, o.cy - cy) > o.r + r + 8)) out.push({ shape: SHAPES2[out.length % 2]!, cx, cy, r });
  };
  const pick = (values: readonly number[]) => values[Math.floor(random() * values.length)]!;
  const anywhere = () => 100 + random() * (size - 200);
  for (let k = 0; k < 8; k++) add(pick(boundaries), anywhere()); // across a vertical seam
  for (let k = 0; k < 8; k++) add(anywhere(), pick(boundaries)); // across a horizontal seam
  for (let k = 0; k < 6; k++) add(pick(boundaries), pick(boundaries)); // where four cores meet
  for (let k = 0; k < 6; k++) add(pick(edges), pick(edges)); // on the edges of windows
  return out;
}

/** Truths matched one to one by predictions at IoU ≥ 0.5 (strongest first), optionally of the same class. */
function recall(truths: readonly BoundingBoxAnnotation[], predictions: readonly BoundingBoxPrediction[], sameClass: boolean): number {
  const free = [...truths];
  for (const p of [...predictions].sort((a, b) => b.confidence! - a.confidence!)) {
    const k = free.findIndex((t) => (!sameClass || t.label === p.label) && iou(t, p) >= 0.5);
    if (k >= 0) free.splice(k, 1);
  }
  return 1 - free.length / truths.length;
}

const pairsOverlapping = (boxes: readonly Box[], above: number) =>
  boxes.flatMap((a, i) => boxes.slice(i + 1).filter((b) => iou(a, b) > above)).length;

describe('tiling large images (built-in detector)', () => {
  let dir: string;
  let train: TrainingData<BoundingBoxAnnotation>;
  let bigTruths: BoundingBoxAnnotation[];
  let seams: BoundingBoxAnnotation[];
  const model = (changes: Record<string, unknown> = {}) => new BoundingBoxDetector({
    ...probeContext(optionsWith(BoundingBoxDetector.getDefaultOptions(), {
      'tiling.enabled': true, 'tiling.windowSize': GEOMETRY.size, 'tiling.overlap': GEOMETRY.overlap, 'tiling.negatives': 6,
      'network.depth': 2, 'training.epochs': 18, 'training.validationFraction': 0, ...ONE_THREAD, ...changes,
    })),
    fileServer: new LocalFileSource(dir, PROJECT),
  });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tiling-'));
    const random = seedrandom('tiling');
    const images: TrainingData<BoundingBoxAnnotation>['images'] = {};
    for (let k = 0; k < 4; k++) {
      const objects = scatter(random, 1000, 1000, 30, SHAPES2, RADIUS);
      images[`train-${k}`] = { filename: `train/large-${k}.png`, annotations: (await writeLargeScene(dir, `train/large-${k}.png`, 1000, 1000, objects, `train-${k}`)).boxes };
    }
    train = { images, labelClasses: labelClasses(SHAPES2) };
    const onSeams = seamObjects(slidingWindows(BIG, BIG, GEOMETRY), BIG, random);
    const objects = [...onSeams, ...scatter(random, BIG, BIG, 40, SHAPES2, RADIUS, onSeams)];
    bigTruths = (await writeLargeScene(dir, 'big/ortho.png', BIG, BIG, objects, 'big')).boxes;
    seams = bigTruths.slice(0, onSeams.length);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('merging overlapping windows keeps one prediction per object, seams included', () => {
    // A detector per window that sees every object at least partly visible, clipped to the window,
    // its centre off by up to a pixel either way (as two windows place a seam object differently).
    const [W, H] = [2000, 1500];
    const plan = slidingWindows(W, H, GEOMETRY);
    const random = seedrandom('merge');
    const onSeams = seamObjects(plan, Math.min(W, H), random);
    const objects = [...onSeams, ...scatter(random, W, H, 60, SHAPES2, RADIUS, onSeams)];
    const truths = objects.map((o, k) => ({ x: o.cx / W, y: o.cy / H, width: (2 * o.r) / W, height: (2 * o.r) / H, confidence: 0.5 + k / 1000 }));
    const perWindow = plan.map((w) => truths.flatMap((t) => {
      const seen = toWindow({ ...t, x: t.x + (random() - 0.5) * 2 / W, y: t.y + (random() - 0.5) * 2 / H }, w, W, H, 1e-6);
      // Less confident the less of the object it sees.
      const visible = seen ? (seen.width * w.width * seen.height * w.height) / (t.width * W * t.height * H) : 0;
      return seen ? [{ ...seen, confidence: t.confidence * visible }] : [];
    }));
    const everything = plan.flatMap((w, i) => perWindow[i]!.map((p) => placeInImage(p, w, W, H)));
    assert.ok(everything.length > 2 * truths.length, `windows see objects more than once: ${everything.length} for ${truths.length}`);
    assert.ok(suppress(everything, 0.5, (p) => p.confidence).length > truths.length, 'suppression alone keeps boxes cut by window edges');
    const owned = plan.flatMap((w, i) => ownedPredictions(w, perWindow[i]!, W, H, GEOMETRY.overlap));
    const merged = suppress(owned, 0.5, (p) => p.confidence);
    assert.equal(merged.length, truths.length);
    for (const t of truths) {
      const hits = merged.filter((p) => iou(p, t) > 0.1);
      assert.equal(hits.length, 1, `object at (${t.x * W}, ${t.y * H})`);
      assert.ok(iou(hits[0]!, t) > 0.85, 'the kept box is the whole object (but for the jitter)');
    }
    // Points: one per object too, a point staying a point.
    const points = plan.flatMap((w) => ownedPredictions(w, truths.flatMap((t) => placeInWindow({ x: t.x, y: t.y }, w, W, H) ?? []), W, H, GEOMETRY.overlap));
    assert.ok(points.every((p) => !('width' in p)));
    assert.equal(thinPoints(points, 4, W, H).length, truths.length);
  });

  it('reads the same windows from a source that decodes them server-side as from the file', async () => {
    const file = path.join(dir, PROJECT, 'train/large-0.png');
    let reads = 0;
    const server: FileSource = {
      getFile: () => Promise.resolve(null),
      async getImage(_path, opts = {}) {
        reads++;
        const { left = 0, top = 0, width, height } = opts.window ?? {};
        let image = sharp(await readFile(file)).removeAlpha();
        if (width && height) image = image.extract({ left, top, width, height });
        if (opts.maxSide) image = image.resize(opts.maxSide, opts.maxSide, { fit: 'inside' });
        const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
        return { data, info: { ...info, sourceWidth: 1000, sourceHeight: 1000 } };
      },
    };
    const windows = [{ left: 0, top: 0, width: 256, height: 256 }, { left: 744, top: 500, width: 256, height: 256 }];
    const served = await openLargeImage(server, 'train/large-0.png') as LargeImage;
    const local = await openLargeImage(new LocalFileSource(dir, PROJECT), 'train/large-0.png') as LargeImage;
    assert.deepEqual([served.width, served.height, local.width, local.height], [1000, 1000, 1000, 1000]);
    const [a, b] = [await served.read(windows, 64), await local.read(windows, 64)];
    assert.equal(reads, 1 + windows.length, 'one size probe, then one read per window');
    for (let k = 0; k < windows.length; k++) {
      assert.equal(a[k]!.length, 64 * 64 * 3);
      const diff = a[k]!.reduce((s, v, i) => s + Math.abs(v - b[k]![i]!), 0) / a[k]!.length;
      assert.ok(diff < 1, `window ${k}: mean difference ${diff}`);
    }
    assert.deepEqual(await openLargeImage(new LocalFileSource(dir, PROJECT), 'missing.png'), { unreadable: 'not found' });
  });

  it('verifies the tiling options field by field', () => {
    const defaults = BoundingBoxDetector.getDefaultOptions();
    assert.ok(JSON.parse(defaults).options.tiling.windowSize);
    const bad = BoundingBoxDetector.verifyOptions(optionsWith(defaults, { 'tiling.windowSize': 128, 'tiling.overlap': 128, 'tiling.negatives': -1 }));
    assert.ok(typeof bad === 'object' && bad && !bad.valid);
    const errors = bad.errors!.join('\n');
    assert.match(errors, /tiling\.overlap 128 must be less than tiling\.windowSize 128/);
    assert.match(errors, /tiling\.negatives must be an integer in \[0, 1000\], got -1/);
    assert.throws(() => model({ 'tiling.overlap': 300 }), /tiling\.overlap 300 must be less than tiling\.windowSize 256/);
  });

  it('trained on windows, finds objects in a 4000×4000 image in whole-image coordinates, each once', async () => {
    const started = performance.now();
    const result = await model().train(null, train, quiet);
    assert.ok(!(result instanceof Uint8Array));
    // One window per object plus the negatives, per image.
    const objects = Object.values(train.images).reduce((n, image) => n + image.annotations!.length, 0);
    assert.equal(result.stats!.images, objects + 4 * 6);
    const trained = performance.now();
    const data: InferenceData = { images: { big: { filename: 'big/ortho.png' } }, labelClasses: train.labelClasses };
    const found = (await model({ 'inference.scoreThreshold': 0.2 }).inference(result.state, data, quiet) as ImagePredictionsMap<BoundingBoxPrediction>).big!.predictions;
    const inferred = performance.now();

    const [anyClass, sameClass, seamRecall] = [recall(bigTruths, found, false), recall(bigTruths, found, true), recall(seams, found, false)];
    const precision = found.filter((p) => bigTruths.some((t) => iou(t, p) >= 0.5)).length / found.length;
    console.log(`tiling: ${bigTruths.length} objects (${seams.length} on seams), ${found.length} predictions; recall@0.5 ${anyClass.toFixed(3)} (same class ${sameClass.toFixed(3)}, seams ${seamRecall.toFixed(3)}), precision ${precision.toFixed(3)}; train ${((trained - started) / 1000).toFixed(1)} s, infer ${((inferred - trained) / 1000).toFixed(1)} s`);
    assert.ok(anyClass >= 0.8, `recall ${anyClass}`);
    assert.ok(sameClass >= 0.7, `same-class recall ${sameClass}`);
    // Seams: 28 objects, so one is 3.6 points; over training seeds 0–2 seam recall spread 0.79–0.89, never more than 0.1 below the overall.
    assert.ok(seamRecall >= 0.75 && seamRecall >= anyClass - 0.15, `recall on seams ${seamRecall} (overall ${anyClass})`);
    // Seen 0.47–0.6 across runs (the replicas' batches interleave differently); well above a flood of false boxes.
    assert.ok(precision >= 0.4, `precision ${precision}`);
    for (const p of found) assert.ok(p.x - p.width / 2 >= -1e-6 && p.x + p.width / 2 <= 1 + 1e-6 && p.y - p.height / 2 >= -1e-6 && p.y + p.height / 2 <= 1 + 1e-6);
    assert.equal(pairsOverlapping(found, 0.5), 0, 'duplicate boxes');
    // No object is matched twice, e.g. by a box cut by a window's edge as well as by the whole box.
    for (const t of bigTruths) assert.ok(found.filter((p) => iou(t, p) >= 0.5).length <= 1, `object at (${(t.x * BIG).toFixed(0)}, ${(t.y * BIG).toFixed(0)}) found more than once`);
  });
});

/**
 * The ONNX plugins on small graphs the tests write (test/support/onnx-models.ts):
 * YOLOv5 and YOLOv8 outputs decoded to the right relative boxes and classes,
 * a large image predicted through the tiling with objects across window seams
 * found once, class mapping, states verified from their first bytes (corrupt
 * or mismatched graphs refused), training refused for inference-only models,
 * and a frozen backbone whose head learns a colour task and averages.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { isAideError } from '../../libs/errors.js';
import type { FileSource } from '../../libs/plugin/context.js';
import type { BoundingBoxPrediction, InferenceData, LabelClass, LabelPrediction, PointPrediction, TrainingData } from '../../libs/plugin/data.js';
import { STATE_HEAD_BYTES, type UpdateState } from '../../libs/plugin/plugin.js';
import { probeContext } from '../../libs/plugin/probe.js';
import { OnnxBackboneHead } from '../../models/onnx/backbone-head.js';
import { mapClasses } from '../../models/onnx/class-mapping.js';
import { OnnxClassifier } from '../../models/onnx/classifier.js';
import { decodeDetections } from '../../models/onnx/decode.js';
import { OnnxBoxDetector, OnnxPointDetector } from '../../models/onnx/detector.js';
import { parseManifest, type ManifestInput } from '../../models/onnx/manifest.js';
import { toInput } from '../../models/onnx/preprocess.js';
import { acquireSession, runBatch } from '../../models/onnx/runtime.js';
import { verifyOnnxState } from '../../models/onnx/onnx-model.js';
import { concat, packOnnxState, readOnnxHeader } from '../../models/onnx/state-format.js';
import { stateOf } from '../support/builtin-models.js';
import { colourGraph, gridDetector, onnxModel } from '../support/onnx-models.js';

const quiet: UpdateState = () => {};

/** An in-memory project folder. */
const filesOf = (files: Map<string, Buffer>): FileSource => ({ getFile: async (p) => files.get(p) ?? null });

const classes = (...names: string[]): Record<string, LabelClass> =>
  Object.fromEntries(names.map((name, i) => [`id-${name}`, { name, color: '#000000', index: i + 1 }]));

/** A black image with white squares (pixels: left, top, side). */
async function squares(width: number, height: number, list: readonly [number, number, number][]): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#000000' } })
    .composite(list.map(([left, top, side]) => ({ input: { create: { width: side, height: side, channels: 3 as const, background: '#ffffff' } }, left, top })))
    .png().toBuffer();
}

const solid = (r: number, g: number, b: number, size = 16) => sharp({ create: { width: size, height: size, channels: 3, background: { r, g, b } } }).png().toBuffer();

const detectorManifest = (decoding: 'yolov5' | 'yolov8', size: number, names: string[]): ManifestInput => ({
  task: 'detector', input: { name: 'images', size }, output: { name: 'output', decoding }, classes: names,
});

const state = (onnx: Uint8Array, manifest: ManifestInput) => concat(packOnnxState(onnx, manifest));

function withOptions(defaults: string, changes: Record<string, unknown>, classMapping?: unknown) {
  const opts = JSON.parse(defaults) as { options: Record<string, Record<string, { value: unknown }>>; classMapping?: unknown };
  for (const [key, value] of Object.entries(changes)) {
    const [group, field] = key.split('.') as [string, string];
    opts.options[group]![field]!.value = value;
  }
  if (classMapping !== undefined) opts.classMapping = classMapping;
  return opts;
}

const inferenceData = (labelClasses: Record<string, LabelClass>, filenames: string[]): InferenceData => ({
  images: Object.fromEntries(filenames.map((f) => [f, { filename: f }])),
  labelClasses,
});

describe('ONNX detectors', () => {
  for (const layout of ['yolov5', 'yolov8'] as const) {
    it(`decode ${layout} outputs to relative boxes and mapped classes, and points at their centres`, async () => {
      // 64×64 input, 8-pixel cells: cells in columns 0-3 are class 'deer', 4-7 'boar'.
      const onnx = gridDetector({ size: 64, cell: 8, classes: 2, layout, classOf: (col) => (col < 4 ? 0 : 1) });
      const bytes = state(onnx, detectorManifest(layout, 64, ['deer', 'boar']));
      const files = new Map([['a.png', await squares(64, 64, [[8, 16, 8], [48, 40, 8]])]]);
      const labelClasses = classes('Deer', 'Boar');
      const ctx = { ...probeContext(JSON.parse(OnnxBoxDetector.getDefaultOptions()) as Record<string, unknown>), fileServer: filesOf(files) };
      const messages: string[] = [];
      const result = await new OnnxBoxDetector(ctx).inference(bytes, inferenceData(labelClasses, ['a.png']), (_s, m) => { if (m) messages.push(m); });
      const boxes = (result['a.png']!.predictions as BoundingBoxPrediction[]).sort((a, b) => a.x - b.x);
      assert.equal(boxes.length, 2, JSON.stringify(boxes));
      const expected = [{ x: 12 / 64, y: 20 / 64, label: 'id-Deer' }, { x: 52 / 64, y: 44 / 64, label: 'id-Boar' }];
      boxes.forEach((b, i) => {
        assert.ok(Math.abs(b.x - expected[i]!.x) < 1e-6 && Math.abs(b.y - expected[i]!.y) < 1e-6, `box ${i} at ${b.x}, ${b.y}`);
        assert.ok(Math.abs(b.width - 0.125) < 1e-6 && Math.abs(b.height - 0.125) < 1e-6);
        assert.equal(b.label, expected[i]!.label);
        assert.ok(b.confidence! > 0.9);
        assert.equal(b.logits!.length, 2);
      });
      assert.ok(messages.some((m) => /ONNX Runtime on CPU/.test(m)), `the events name the provider: ${messages.join(' | ')}`);

      const points = await new OnnxPointDetector({ ...ctx, options: JSON.parse(OnnxPointDetector.getDefaultOptions()) as Record<string, unknown> })
        .inference(bytes, inferenceData(labelClasses, ['a.png']), quiet);
      const centres = (points['a.png']!.predictions as PointPrediction[]).map((p) => [p.x, p.y, p.label]).sort();
      assert.deepEqual(centres, [[12 / 64, 20 / 64, 'id-Deer'], [52 / 64, 44 / 64, 'id-Boar']].sort());
      assert.ok(!('width' in (points['a.png']!.predictions[0] as object)));
    });
  }

  it('read inputs larger than a batch read takes (MegaDetector: 1280 pixels) one image at a time', async () => {
    const onnx = gridDetector({ size: 1280, cell: 160, classes: 1, layout: 'yolov5' });
    const bytes = state(onnx, detectorManifest('yolov5', 1280, ['animal']));
    const files = new Map([['big.png', await squares(1280, 1280, [[160, 320, 160]])]]);
    const source: FileSource = { ...filesOf(files), getImages: () => { throw new Error('ReadImages decodes at most 1024 pixels a side'); } };
    const ctx = { ...probeContext(JSON.parse(OnnxBoxDetector.getDefaultOptions()) as Record<string, unknown>), fileServer: source };
    const result = await new OnnxBoxDetector(ctx).inference(bytes, inferenceData(classes('animal'), ['big.png']), quiet);
    const boxes = result['big.png']!.predictions as BoundingBoxPrediction[];
    assert.deepEqual(boxes.map((b) => [b.x, b.y, b.width, b.height].map((v) => Math.round(v * 1280))), [[240, 400, 160, 160]]);
  });

  it('decodes YOLOv5 rows as objectness × class score and suppresses overlapping boxes across classes', () => {
    const m = parseManifest(detectorManifest('yolov5', 100, ['a', 'b']));
    // cx, cy, w, h (pixels), objectness, class scores
    const rows = [
      [50, 50, 20, 20, 0.9, 0.2, 0.8],
      [52, 50, 20, 20, 0.8, 0.9, 0.1], // overlaps the first: suppressed
      [10, 90, 10, 10, 0.9, 0.1, 0.1], // 0.09 < threshold
      [90, 10, 40, 40, 0.5, 1.0, 0.0], // clipped at the right and top edges
    ];
    const found = decodeDetections(Float32Array.from(rows.flat()), m, { threshold: 0.2, nmsIoU: 0.45, maxObjects: 10 });
    assert.deepEqual(found.map((d) => d.classIndex), [1, 0]);
    assert.ok(Math.abs(found[0]!.score - 0.72) < 1e-6);
    assert.deepEqual(found[1]!.scores.map((s) => Math.round(s * 100) / 100), [0.5, 0]);
    const edge = found[1]!;
    assert.ok(Math.abs(edge.x - 0.85) < 1e-6 && Math.abs(edge.width - 0.3) < 1e-6 && Math.abs(edge.y - 0.15) < 1e-6 && Math.abs(edge.height - 0.3) < 1e-6);
  });

  it('predict a large image window by window: objects across seams found once, in whole-image coordinates', async () => {
    // 1024² image, 512-pixel windows overlapping by 128 (starts 0, 384, 512), each squashed to the 64-pixel input:
    // a 32-pixel square is one 4-pixel cell of the input in every window, as the window starts are multiples of 32.
    const onnx = gridDetector({ size: 64, cell: 4, classes: 1, layout: 'yolov5' });
    const bytes = state(onnx, detectorManifest('yolov5', 64, ['animal']));
    const objects: [number, number, number][] = [[416, 96, 32], [448, 448, 32], [480, 896, 32], [896, 416, 32], [384, 512, 32], [32, 32, 32], [960, 960, 32]];
    const files = new Map([['ortho.png', await squares(1024, 1024, objects)]]);
    const options = withOptions(OnnxBoxDetector.getDefaultOptions(), { 'tiling.enabled': true, 'tiling.windowSize': 512, 'tiling.overlap': 128, 'inference.scoreThreshold': 0.5 });
    const ctx = { ...probeContext(options), fileServer: filesOf(files) };
    const result = await new OnnxBoxDetector(ctx).inference(bytes, inferenceData(classes('animal'), ['ortho.png']), quiet);
    const found = (result['ortho.png']!.predictions as BoundingBoxPrediction[]).map((b) => [b.x * 1024, b.y * 1024, b.width * 1024, b.height * 1024].map((v) => Math.round(v)));
    const want = objects.map(([l, t, s]) => [l + s / 2, t + s / 2, s, s]);
    const key = (v: number[]) => v.join(',');
    assert.deepEqual(found.map(key).sort(), want.map(key).sort(), 'each object once, where it is');
  });

  it('training is refused with FAILED_PRECONDITION, saying what to do instead', async () => {
    const model = new OnnxBoxDetector(probeContext(JSON.parse(OnnxBoxDetector.getDefaultOptions()) as Record<string, unknown>));
    await assert.rejects(model.train(null, { images: {}, labelClasses: {} }, quiet), (err) => isAideError(err, 'FAILED_PRECONDITION') && /cannot be trained.*inference/.test(err.message));
    assert.equal(OnnxBoxDetector.metadata.trainable, false);
  });
});

describe('ONNX Runtime sessions', () => {
  it('stay loaded while a job holds one, whatever other graphs load meanwhile, and are shared by jobs on the same graph', async () => {
    const graphs = [1, 2, 3, 4].map((k) => colourGraph(8, [k, 0, 0, 0, k, 0, 0, 0, k]));
    const held = await Promise.all(graphs.map((g, k) => acquireSession(g, `graph-${k}`, 'cpu', 1)));
    const again = await acquireSession(graphs[0]!, 'graph-0', 'cpu', 1);
    assert.equal(again.graph, held[0]!.graph, 'the same graph, the same session');
    for (const h of held) h.release();
    // Three graphs idle now, two of them kept loaded; the first, still held by `again`, stays loaded.
    const input = toInput(parseManifest({ task: 'classifier', input: { name: 'images', size: 8 }, output: { name: 'output', decoding: 'logits' }, classes: ['r', 'g', 'b'] }), [new Uint8Array(8 * 8 * 3).fill(255)]);
    const [out] = await runBatch(again.graph, { input: 'images', output: 'output' }, input, [3, 8, 8], 1);
    assert.deepEqual(Array.from(out!), [1, 1, 1]);
    again.release();
  });
});

describe('class mapping', () => {
  const project = classes('Red deer', 'Other');
  it('maps by name (case aside), by the explicit map, and drops or keeps unmapped classes as the declared other', () => {
    assert.deepEqual(mapClasses(['red deer', 'person', 'vehicle'], project, { map: {}, unmapped: 'drop', other: '' }), { targets: ['id-Red deer'], target: [0, -1, -1] });
    assert.deepEqual(mapClasses(['animal', 'person', 'vehicle'], project, { map: { animal: 'Red deer' }, unmapped: 'other', other: 'Other' }),
      { targets: ['id-Red deer', 'id-Other'], target: [0, 1, 1] });
  });
  it('refuses names that are not there', () => {
    assert.throws(() => mapClasses(['animal'], project, { map: { animal: 'Elk' }, unmapped: 'drop', other: '' }), /classMapping\.map\.animal: the project has no label class 'Elk'/);
    assert.throws(() => mapClasses(['animal'], project, { map: { cat: 'Other' }, unmapped: 'drop', other: '' }), /the model has no class 'cat'/);
    assert.throws(() => mapClasses(['animal'], project, { map: {}, unmapped: 'other', other: 'Misc' }), /classMapping\.other: the project has no label class 'Misc'/);
    const verified = OnnxClassifier.verifyOptions({ classMapping: { unmapped: 'other' } });
    assert.ok(verified && typeof verified === 'object' && verified.valid === false && verified.errors!.some((e) => e.startsWith('classMapping.other')));
  });
  it('a classifier labels images with the mapped project classes; an unmapped top class predicts nothing', async () => {
    const onnx = colourGraph(8, [4, 0, 0, 0, 4, 0, 0, 0, 4]);
    const bytes = state(onnx, { task: 'classifier', input: { name: 'images', size: 8 }, output: { name: 'output', decoding: 'logits' }, classes: ['red', 'green', 'blue'] });
    const files = new Map([['r.png', await solid(255, 0, 0)], ['g.png', await solid(0, 255, 0)], ['b.png', await solid(0, 0, 255)]]);
    const labelClasses = classes('Rot', 'Blue');
    const options = { ...(JSON.parse(OnnxClassifier.getDefaultOptions()) as object), classMapping: { map: { red: 'Rot' }, unmapped: 'drop' } };
    const result = await new OnnxClassifier({ ...probeContext(options), fileServer: filesOf(files) }).inference(bytes, inferenceData(labelClasses, ['r.png', 'g.png', 'b.png']), quiet);
    const label = (f: string) => (result[f]!.predictions as LabelPrediction[]).map((p) => p.label);
    assert.deepEqual([label('r.png'), label('g.png'), label('b.png')], [['id-Rot'], [], ['id-Blue']]);
    assert.equal((result['r.png']!.predictions[0] as LabelPrediction).logits!.length, 2, 'one logit per mapped project class');
  });
});

describe('ONNX states on import', () => {
  const manifest = detectorManifest('yolov5', 64, ['animal']);
  const good = state(gridDetector({ size: 64, cell: 8, classes: 1, layout: 'yolov5' }), manifest);
  const refused = (bytes: Uint8Array, pattern: RegExp, task: 'detector' | 'classifier' = 'detector') =>
    assert.rejects(verifyOnnxState(bytes.subarray(0, STATE_HEAD_BYTES), bytes.length, task), pattern);

  it('accept a packed graph that matches its manifest', async () => {
    await verifyOnnxState(good, good.length, 'detector');
  });

  it('refuse corrupt bytes, a graph that does not match its manifest, and the wrong task', async () => {
    await refused(new Uint8Array(4096).fill(7), /not an ONNX model state/);
    await refused(good.subarray(0, good.length - 1), /accounts for/);
    await assert.rejects(async () => packOnnxState(new Uint8Array(300).fill(0xff), manifest), /malformed protobuf|not an ONNX model/);
    const flipped = Uint8Array.from(good);
    flipped[flipped.length - 10]! ^= 0xff;
    await refused(flipped, /SHA-256|cannot/);
    const { onnxOffset } = readOnnxHeader(good, good.length);
    const garbage = Uint8Array.from(good);
    garbage.fill(0xff, onnxOffset + 20, onnxOffset + 60);
    await refused(garbage, /cannot be read|malformed|SHA-256/);
    const onnx = gridDetector({ size: 64, cell: 8, classes: 1, layout: 'yolov5' });
    await refused(state(onnx, { ...manifest, input: { name: 'input', size: 64 } }), /no input 'input' \(its inputs: 'images'\)/);
    await refused(state(onnx, { ...manifest, input: { name: 'images', size: 640 } }), /64×64, the manifest says 640×640/);
    await refused(state(onnx, { ...manifest, classes: ['animal', 'person', 'vehicle'] }), /rows have 6 values, yolov5 with 3 classes has 5 \+ 3/);
    await refused(state(onnx, { ...manifest, output: { name: 'output', decoding: 'yolov8' } }), /yolov8 with 1 classes has 4 \+ 1/);
    await refused(good, /task is 'detector'/, 'classifier');
    assert.throws(() => packOnnxState(onnx, { ...manifest, output: { name: 'output', decoding: 'logits' } }), /does not fit task 'detector'/);
  });

  it('read a large graph\'s signature from the first 4 MiB once packed, and refuse one whose signature lies beyond', async () => {
    // 8 MiB of weights: the exporter's order puts them before the graph's inputs and outputs.
    const big = onnxModel({
      nodes: [{ op: 'GlobalAveragePool', inputs: ['images'], outputs: ['pooled'] }, { op: 'Flatten', inputs: ['pooled'], outputs: ['f'] }, { op: 'Gemm', inputs: ['f', 'w', 'b'], outputs: ['output'] }],
      initializers: [{ name: 'w', dims: [3, 2], values: [1, 0, 0, 1, 0, 0] }, { name: 'b', dims: [2], values: [0, 0] }, { name: 'unused', dims: [2 << 20], values: new Array(2 << 20).fill(0.5) }],
      inputs: [{ name: 'images', shape: ['batch', 3, 8, 8] }],
      outputs: [{ name: 'output', shape: ['batch', 2] }],
    });
    const m: ManifestInput = { task: 'classifier', input: { name: 'images', size: 8 }, output: { name: 'output', decoding: 'logits' }, classes: ['a', 'b'] };
    const packed = state(big, m);
    assert.ok(packed.length > STATE_HEAD_BYTES);
    await verifyOnnxState(packed.subarray(0, STATE_HEAD_BYTES), packed.length, 'classifier');
    await refused(state(big, { ...m, classes: ['a', 'b', 'c'] }), /3 classes/, 'classifier');
    // The same graph in the exporter's order behind a packed header: nothing to verify it by in the head.
    const [header] = packOnnxState(big, m);
    const unpacked = concat([header!, big]);
    await refused(unpacked, /do not lie within the state's first bytes/, 'classifier');
  });
});

describe('frozen backbone + trainable head', () => {
  // A colour "backbone": the mean colour spread over 6 features.
  const backbone = colourGraph(8, [1, 0.5, 0, 0, 0.2, 0.1, 0, 1, 0.5, 0, 0.1, 0.2, 0, 0, 1, 1, 0.3, 0.3], 'embedding');
  const bytes = state(backbone, { task: 'backbone', input: { name: 'images', size: 8 }, output: { name: 'embedding', decoding: 'embedding' } });
  const shades = (base: [number, number, number], n: number) => Array.from({ length: n }, (_, i) => base.map((v) => Math.min(255, v + 10 * i)) as [number, number, number]);

  it('learns a separable task from few labels, continues with a new class, and averages heads like any state', async () => {
    const labelClasses = classes('red', 'blue');
    const files = new Map<string, Buffer>();
    const images: TrainingData['images'] = {};
    for (const [name, base] of [['red', [200, 20, 20]], ['blue', [20, 20, 200]]] as const) {
      for (const [i, rgb] of shades([...base] as [number, number, number], 6).entries()) {
        files.set(`${name}-${i}.png`, await solid(...rgb));
        images[`${name}-${i}`] = { filename: `${name}-${i}.png`, annotations: [{ label: `id-${name}` }] };
      }
    }
    const options = withOptions(OnnxBackboneHead.getDefaultOptions(), { 'training.epochs': 150, 'training.validationFraction': 0 });
    const model = new OnnxBackboneHead({ ...probeContext(options), fileServer: filesOf(files) });
    await assert.rejects(model.inference(bytes, inferenceData(labelClasses, ['red-0.png']), quiet), (err) => isAideError(err, 'FAILED_PRECONDITION') && /no trained head/.test(err.message));
    const half = (k: number) => ({ images: Object.fromEntries(Object.entries(images).filter((_, i) => i % 2 === k)), labelClasses });
    const [a, b] = await Promise.all([model.train(bytes, half(0), quiet), model.train(bytes, half(1), quiet)]);
    const averaged = await model.averageModelStates([stateOf(a), stateOf(b)], quiet, [6, 6]);
    const head = readOnnxHeader(averaged, averaged.length).header.head!;
    assert.deepEqual(head.classes, ['id-red', 'id-blue']);

    files.set('new-red.png', await solid(230, 40, 30));
    files.set('new-blue.png', await solid(30, 40, 230));
    const result = await model.inference(averaged, inferenceData(labelClasses, ['new-red.png', 'new-blue.png']), quiet);
    assert.equal((result['new-red.png']!.predictions[0] as LabelPrediction).label, 'id-red');
    assert.equal((result['new-blue.png']!.predictions[0] as LabelPrediction).label, 'id-blue');

    // A third class: the head grows an output, the others keep theirs.
    const three = classes('red', 'blue', 'green');
    for (const [i, rgb] of shades([20, 200, 20], 4).entries()) {
      files.set(`green-${i}.png`, await solid(...rgb));
      images[`green-${i}`] = { filename: `green-${i}.png`, annotations: [{ label: 'id-green' }] };
    }
    const grown = stateOf(await model.train(averaged, { images, labelClasses: three }, quiet));
    assert.deepEqual(readOnnxHeader(grown, grown.length).header.head!.classes, ['id-red', 'id-blue', 'id-green']);
    files.set('new-green.png', await solid(40, 230, 30));
    const again = await model.inference(grown, inferenceData(three, ['new-red.png', 'new-blue.png', 'new-green.png']), quiet);
    assert.deepEqual(['new-red.png', 'new-blue.png', 'new-green.png'].map((f) => (again[f]!.predictions[0] as LabelPrediction).label), ['id-red', 'id-blue', 'id-green']);
  });
});

/**
 * Bringing ONNX models to the mesh with the CLI, end to end in one process:
 * an .onnx graph and its manifest imported (`aide states import
 * --onnx-manifest`), a frozen backbone whose head trains on two workers
 * (averaged) and labels colours it was not shown, a pretrained detector run
 * by an inference workflow whose events name the execution provider,
 * training it refused, and mismatched graphs refused on import.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import sharp from 'sharp';
import { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import { createClient } from '../../libs/grpc/index.js';
import { concat, packOnnxState } from '../../models/onnx/state-format.js';
import { colourGraph, gridDetector } from '../support/onnx-models.js';
import { aideInProcessOn, ok } from './aide-cli.js';
import { startTestMesh } from './mesh.js';

const solid = (r: number, g: number, b: number) => sharp({ create: { width: 16, height: 16, channels: 3, background: { r, g, b } } }).png().toBuffer();
const jobId = (started: string): string => /^started (\S+)/m.exec(started)![1]!;
const stateId = (imported: string): string => /^imported (\S+)/m.exec(imported)![1]!;

test('ONNX models through the mesh: import with a manifest, a backbone head trained on two workers, a detector run, refusals', async (t) => {
  const mesh = await startTestMesh(t);
  const run = aideInProcessOn(mesh);
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${mesh.adminToken}`);
  const c = createClient(ControllerServiceService, mesh.controller, { metadata });
  t.after(() => c.close());

  const dir = mkdtempSync(join(tmpdir(), 'aide-onnx-'));
  const file = (name: string, bytes: Uint8Array | string) => { writeFileSync(join(dir, name), bytes); return join(dir, name); };
  const backbone = file('backbone.onnx', colourGraph(8, [1, 0.5, 0, 0, 0.2, 0.1, 0, 1, 0.5, 0, 0.1, 0.2, 0, 0, 1, 1, 0.3, 0.3], 'embedding'));
  const backboneManifest = file('backbone.json', JSON.stringify({ task: 'backbone', input: { name: 'images', size: 8 }, output: { name: 'embedding', decoding: 'embedding' } }));
  const detectorManifest = { task: 'detector', input: { name: 'images', size: 64 }, output: { name: 'output', decoding: 'yolov5' }, classes: ['animal', 'person'] };
  const detectorOnnx = gridDetector({ size: 64, cell: 8, classes: 2, layout: 'yolov5', classOf: (col) => (col < 4 ? 0 : 1) });
  const detector = file('megadetector.onnx', detectorOnnx);
  const detectorJson = file('megadetector.json', JSON.stringify(detectorManifest));

  const images = join(dir, 'colours');
  mkdirSync(images);
  const shades = [0, 15, 30, 45, 60, 75];
  for (const [i, s] of shades.entries()) {
    writeFileSync(join(images, `red_${i}.png`), await solid(200 + s / 2, 20 + s, 20));
    writeFileSync(join(images, `blue_${i}.png`), await solid(20 + s, 20, 200 + s / 2));
  }

  await t.test('a frozen backbone\'s head learns the project\'s classes on two workers and labels the rest', async () => {
    await ok(run(['projects', 'create', 'colours', '--model', 'onnx.backboneHead', '--ranker', 'builtin.breaking_ties',
      '--model-options', JSON.stringify({ options: { training: { validationFraction: 0 } } })]));
    await Promise.all(['red', 'blue'].map((name) => ok(run(['classes', 'add', 'colours', name]))));
    await ok(run(['images', 'import', 'colours', images]));
    const classes = new Map((await c.listLabelClasses({ project: 'colours' })).labelClasses.map((l) => [l.name, l.id]));
    const listed = (await c.listImages({ project: 'colours', annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 100, pageToken: '' })).images;
    const colourOf = (path: string) => path.split('/').pop()!.split('_')[0]!;
    const labelled = listed.filter((img) => Number(/_(\d)\./.exec(img.filePath)![1]) % 2 === 0);
    await c.upsertAnnotations({
      project: 'colours',
      annotations: labelled.map((img) => ({ id: '', imageId: img.id, labelClassId: classes.get(colourOf(img.filePath))!, unsure: false, author: 'test', createdAt: undefined, geometry: undefined })),
    });

    const imported = await ok(run(['states', 'import', 'colours', backbone, '--onnx-manifest', backboneManifest]));
    assert.match(imported, /onnx\.backboneHead/);
    await ok(run(['states', 'current', 'colours', stateId(imported)]));
    const started = await run(['workflow', 'colours', '--steps', 'train,inference', '--workers', '2', '--watch']);
    assert.equal(started.code, 0, `${started.stdout}\n${started.stderr}`);
    const events = (await ok(run(['--json', 'jobs', 'watch', 'colours', jobId(started.stdout)]))).split('\n').filter((l) => l.startsWith('{"'));
    assert.ok(events.some((e) => /ONNX Runtime on CPU/.test(e)), 'the job\'s events name the execution provider');

    const { predictions } = await c.listPredictions({ project: 'colours', imageId: '', modelStateId: '', pageSize: 100, pageToken: '' });
    const unlabelled = listed.filter((img) => !labelled.includes(img));
    assert.equal(predictions.length, unlabelled.length);
    for (const p of predictions) {
      const img = listed.find((i) => i.id === p.imageId)!;
      assert.equal(p.labelClassId, classes.get(colourOf(img.filePath)), `${img.filePath} labelled right`);
    }
    const states = (await c.listModelStates({ project: 'colours' })).states;
    assert.equal(states.find((s) => s.current)!.numImages, labelled.length, 'both shards\' images in the averaged state');
  });

  await t.test('a pretrained detector predicts in an inference workflow; training it is refused', async () => {
    await ok(run(['projects', 'create', 'traps', '--annotation-type', 'bounding-boxes', '--model', 'onnx.boundingBoxes', '--ranker', 'builtin.breaking_ties',
      '--model-options', JSON.stringify({ classMapping: { map: { animal: 'deer' }, unmapped: 'drop' } })]));
    await ok(run(['classes', 'add', 'traps', 'deer']));
    const trap = join(dir, 'trap');
    mkdirSync(trap);
    writeFileSync(join(trap, 'cam1.png'), await sharp({ create: { width: 64, height: 64, channels: 3, background: '#000000' } })
      .composite([{ input: { create: { width: 8, height: 8, channels: 3, background: '#ffffff' } }, left: 8, top: 16 }, { input: { create: { width: 8, height: 8, channels: 3, background: '#ffffff' } }, left: 48, top: 40 }])
      .png().toBuffer());
    await ok(run(['images', 'import', 'traps', trap]));
    await ok(run(['states', 'current', 'traps', stateId(await ok(run(['states', 'import', 'traps', detector, '--onnx-manifest', detectorJson])))]));

    const train = await run(['train', 'traps']);
    assert.notEqual(train.code, 0);
    assert.match(train.stderr, /FAILED_PRECONDITION|only predicts and cannot be trained/);
    assert.match(train.stderr, /cannot be trained/);
    assert.match((await run(['workflow', 'traps'])).stderr, /only predicts and cannot be trained: give the workflow steps without train/);

    const inferred = await run(['workflow', 'traps', '--steps', 'inference,rank', '--watch']);
    assert.equal(inferred.code, 0, `${inferred.stdout}\n${inferred.stderr}`);
    const { predictions } = await c.listPredictions({ project: 'traps', imageId: '', modelStateId: '', pageSize: 100, pageToken: '' });
    // The 'person' box (right half) maps to no project class and is dropped.
    assert.equal(predictions.length, 1, JSON.stringify(predictions));
    const geometry = predictions[0]!.geometry;
    assert.equal(geometry?.$case, 'boundingBox');
    const box = geometry.value as { x: number; y: number; width: number; height: number };
    assert.deepEqual([box.x, box.y, box.width, box.height].map((v) => Math.round(v * 64)), [12, 20, 8, 8]);
  });

  await t.test('a graph that does not match its manifest, or that is no state, is refused on import and nothing is stored', async () => {
    const mismatched = file('mismatched.state', concat(packOnnxState(detectorOnnx, { ...detectorManifest, classes: ['animal', 'person', 'vehicle'] })));
    const before = (await c.listModelStates({ project: 'traps' })).states.length;
    const refused = await run(['states', 'import', 'traps', mismatched, '--model-library', 'onnx.boundingBoxes']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /rows have 7 values, yolov5 with 3 classes has 5 \+ 3/);
    const garbage = await run(['states', 'import', 'traps', file('garbage.state', new Uint8Array(5000).fill(3)), '--model-library', 'onnx.boundingBoxes']);
    assert.match(garbage.stderr, /not an ONNX model state/);
    const notOnnx = await run(['states', 'import', 'traps', file('garbage.onnx', new Uint8Array(300).fill(0xff)), '--onnx-manifest', detectorJson]);
    assert.match(notOnnx.stderr, /malformed protobuf|not an ONNX model/);
    assert.equal((await c.listModelStates({ project: 'traps' })).states.length, before);
  });
});

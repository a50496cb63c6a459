/**
 * Label efficiency of active learning through the public gRPC API: the
 * pool-based protocol on Fashion-MNIST (Debian `dataset-fashion-mnist`)
 * against an embedded mesh this script starts, and its PyTorch twin
 * (protocol_torch.py: the reference CNN) on the same data, initial
 * labels and random order, in the same run.
 *
 * Per seed and strategy: a project with `builtin.labels` at its defaults
 * (but for the protocol's input 28×28, width 32, depth 2 and epochs), `initial` labels drawn in a
 * seeded order, then rounds of: train from scratch → predict → score the test
 * images → select `step` more pool images → label them (the dataset's labels),
 * up to `max` labels. `random` takes the next images of the seeded order
 * (the twin takes the same); any other strategy names the Ranker plugin
 * `builtin.<strategy>` (breaking_ties, entropy, and whatever else the
 * registry has, e.g. coreset), whose `NextBatch` order picks the batch.
 *
 *   node --import tsx bench/active-learning/protocol.ts [--seeds 0,1,2]
 *     [--strategies random,breaking_ties,entropy] [--pool 10000] [--test 2000]
 *     [--initial 200] [--step 200] [--max 2000] [--epochs 15] [--no-torch]
 *     [--torch-threads 2] [--svg bench/active-learning/learning-curves.svg] [--json FILE]
 *     [--option group.key=value ...]   (model options other than the defaults, e.g. network.head=flatten)
 *
 * Prints one line per (side, strategy, seed, budget) as it goes, then a
 * table of accuracy per budget (mean ± standard deviation over seeds, with
 * the range) and `figure` lines: labels_to_match_random_<max>_<strategy>
 * (the fewest labels, as a fraction of `max`, at which the strategy's mean
 * accuracy reaches random's at `max`; inf if it never does), the best mean
 * accuracy at `max`, and the largest shortfall of the mesh's random curve
 * below the twin's.
 */
import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import seedrandom from 'seedrandom';
import sharp from 'sharp';
import { AnnotationType, JobState } from '../../libs/gen/aide/v1/common.js';
import { ControllerServiceService, Filter } from '../../libs/gen/aide/v1/controller.js';
import { createClient } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import { builtins } from '../../models/index.js';
import { startEmbeddedMesh } from '../../services/embedded/mesh.js';
import { tokenMetadata } from '../../test/support/auth.js';
import { optionsWith } from '../../test/support/builtin-models.js';
import { optionChanges } from './label-options.js';
import { CLASSES, protocolData, sampleIndices, SIDE, type GreySet } from './fashion-mnist.js';
import { learningCurvesSvg, resultLine, summarize, type Result } from './report.js';

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '0,1,2' },
    strategies: { type: 'string', default: 'random,breaking_ties,entropy' },
    pool: { type: 'string', default: '10000' },
    test: { type: 'string', default: '2000' },
    initial: { type: 'string', default: '200' },
    step: { type: 'string', default: '200' },
    max: { type: 'string', default: '2000' },
    epochs: { type: 'string', default: '15' },
    'no-torch': { type: 'boolean', default: false },
    'torch-threads': { type: 'string', default: '2' },
    svg: { type: 'string', default: '' },
    json: { type: 'string', default: '' },
    option: { type: 'string', multiple: true, default: [] },
  },
});
const seeds = args.seeds.split(',').map(Number);
const strategies = args.strategies.split(',');
const [poolSize, testSize, initial, step, max, epochs] = [args.pool, args.test, args.initial, args.step, args.max, args.epochs].map(Number) as number[];
const budgets: number[] = [];
for (let b = initial!; b <= max!; b += step!) budgets.push(b);
if (!strategies.includes('random')) throw new Error('--strategies must include random: the other strategies are measured against it');

const root = mkdtempSync(join(tmpdir(), 'aide-al-'));
const results: Result[] = [];
const record = (r: Result) => {
  results.push(r);
  console.log(resultLine(r));
};

/** PNGs of a set under `dir`, named by index (so path order = index order). */
async function writePngs(dir: string, set: GreySet): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const names = set.images.map((_, i) => `${String(i).padStart(5, '0')}.png`);
  for (let i = 0; i < names.length; i += 64) {
    await Promise.all(names.slice(i, i + 64).map((name, k) =>
      sharp(Buffer.from(set.images[i + k]!), { raw: { width: SIDE, height: SIDE, channels: 1 } }).png().toFile(join(dir, name))));
  }
  return names;
}

const mesh = await startEmbeddedMesh({
  logger: createLogger('bench', 'warn'), workers: 1,
  env: { AIDE_AICONTROLLER_PORT: '0', AIDE_RANKER_PORT: '0', AIDE_FILESERVER_PORT: '0', AIDE_FILESERVER_HTTP_PORT: '0', AIDE_FILESERVER_ROOT: root },
});
const c = createClient(ControllerServiceService, mesh.controller, { metadata: tokenMetadata(mesh.adminToken) });

// The classifier's defaults but for what the protocol fixes (28×28 input, width 32 and depth 2: 28 = 7·2², epochs) and the --option changes.
const modelOptions = optionsWith(builtins.find((b) => b.metadata.key === 'builtin.labels')!.getDefaultOptions!(), {
  'network.inputSize': SIDE, 'network.width': 32, 'network.depth': 2, 'training.epochs': epochs, ...optionChanges(args.option),
});

async function waitFor(project: string, job: { id: string } | undefined): Promise<void> {
  let last;
  for await (const { event } of c.watchJob({ project, id: job!.id })) last = event;
  if (last?.state !== JobState.JOB_STATE_SUCCEEDED) throw new Error(`${project}: job ${job!.id} ended ${last?.state}: ${last?.message}`);
}

async function imageIds(project: string): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (let pageToken = ''; ;) {
    const page = await c.listImages({ project, annotated: Filter.FILTER_UNSPECIFIED, hasPredictions: Filter.FILTER_UNSPECIFIED, goldenQuestion: Filter.FILTER_UNSPECIFIED, pageSize: 1000, pageToken });
    for (const image of page.images) ids.set(image.filePath, image.id);
    if (!(pageToken = page.nextPageToken)) return ids;
  }
}

/** Test accuracy of the project's current state: its top label per test image against the truth. */
async function testAccuracy(project: string, testIds: ReadonlyMap<string, number>, classOf: ReadonlyMap<string, number>): Promise<number> {
  let correct = 0;
  let seen = 0;
  for await (const message of c.streamPredictions({ project, imageId: '', modelStateId: '', imagesPerMessage: 0 })) {
    // A label prediction is far smaller than one message: it never comes in chunks.
    if (message.payload?.$case !== 'image') throw new Error(`${project}: unexpected ${message.payload?.$case} in the prediction stream`);
    const image = message.payload.value;
    const truth = testIds.get(image.imageId);
    if (truth === undefined) continue;
    seen++;
    if (classOf.get(image.predictions[0]?.labelClassId ?? '') === truth) correct++;
  }
  if (seen !== testIds.size) throw new Error(`${project}: predictions for ${seen} of ${testIds.size} test images`);
  return correct / seen;
}

async function runMesh(seed: number, strategy: string, files: { pool: string[]; test: string[] }, data: { pool: GreySet; test: GreySet }, order: readonly number[]): Promise<void> {
  const project = `al-${strategy.replace(/_/g, '-')}-s${seed}`;
  // Each project reads its own folder: hard links to the seed's images.
  for (const [set, names] of Object.entries(files)) {
    mkdirSync(join(root, project, set), { recursive: true });
    for (const name of names) linkSync(join(root, `_seed${seed}`, set, name), join(root, project, set, name));
  }
  await c.createProject({
    name: project, displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_LABELS, predictionType: AnnotationType.ANNOTATION_TYPE_LABELS,
    settings: {
      modelLibrary: 'builtin.labels', modelOptionsJson: JSON.stringify(modelOptions),
      rankerLibrary: strategy === 'random' ? '' : `builtin.${strategy}`, rankerOptionsJson: '',
      autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 1, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
    },
  });
  const classes = (await c.addLabelClasses({ project, labelClasses: CLASSES.map((name) => ({ name, color: '' })) })).labelClasses;
  const classOf = new Map(classes.map((lc, k) => [lc.id, k]));
  await c.registerImages({ project, prefix: '' });
  const ids = await imageIds(project);
  const poolIds = files.pool.map((name) => ids.get(`pool/${name}`)!);
  const poolIndex = new Map(poolIds.map((id, i) => [id, i]));
  const testIds = new Map(files.test.map((name, i) => [ids.get(`test/${name}`)!, data.test.labels[i]!]));

  const labelled = new Set<number>();
  let next = order.slice(0, budgets[0]);
  for (const budget of budgets) {
    await c.upsertAnnotations({ project, annotations: next.map((i) => ({
      id: '', imageId: poolIds[i]!, labelClassId: classes[data.pool.labels[i]!]!.id, unsure: false, author: '', createdAt: undefined, geometry: undefined,
    })) });
    for (const i of next) labelled.add(i);
    await waitFor(project, (await c.startTraining({ project, numWorkers: 1, numEpochs: 1, imageIds: [], fromScratch: true })).job);
    // Random selection needs predictions of the test images only; a ranker needs the whole unlabelled pool.
    // Labelled images are predicted too for a ranker: batch rankers (coreset, badge) take their embeddings as centres.
    const predict = strategy === 'random' ? [...testIds.keys()] : [];
    const includeAnnotated = strategy !== 'random';
    await waitFor(project, (await c.startInference({ project, imageIds: predict, goldenQuestionsOnly: false, numWorkers: 1, modelStateId: '', includeAnnotated })).job);
    record({ side: 'mesh', strategy, seed, labels: budget, accuracy: await testAccuracy(project, testIds, classOf) });
    if (budget === budgets.at(-1)) break;
    if (strategy === 'random') {
      next = order.filter((i) => !labelled.has(i)).slice(0, step);
    } else {
      await waitFor(project, (await c.startRanking({ project, modelStateId: '' })).job);
      const batch = await c.nextBatch({ project, limit: step!, pathPrefix: 'pool/', excludePrefixes: [], pageToken: '' });
      next = batch.images.map((image) => poolIndex.get(image.id)!);
      if (next.length !== step) throw new Error(`${project}: NextBatch gave ${next.length} images, not ${step}`);
    }
  }
  await c.deleteProject({ project });
}

function runTorch(seed: number, data: { pool: GreySet; test: GreySet }, order: readonly number[]): void {
  const dir = join(root, `_torch${seed}`);
  mkdirSync(dir);
  const bytes = (set: GreySet) => Buffer.concat(set.images.map((image) => Buffer.from(image)));
  writeFileSync(join(dir, 'pool.u8'), bytes(data.pool));
  writeFileSync(join(dir, 'test.u8'), bytes(data.test));
  writeFileSync(join(dir, 'pool_labels.u8'), Uint8Array.from(data.pool.labels));
  writeFileSync(join(dir, 'test_labels.u8'), Uint8Array.from(data.test.labels));
  writeFileSync(join(dir, 'order.i32'), new Uint8Array(Int32Array.from(order).buffer));
  writeFileSync(join(dir, 'budgets.json'), JSON.stringify(budgets));
  // The twin has no Ranker service: it knows the strategies it implements itself.
  const known = strategies.filter((s) => ['random', 'breaking_ties', 'entropy', 'coreset'].includes(s));
  const script = fileURLToPath(new URL('./protocol_torch.py', import.meta.url));
  // Debian's python3-torch belongs to the system interpreter (a pyenv python3 may come first on PATH).
  const run = spawnSync('/usr/bin/python3', [script, dir, String(seed), known.join(','), String(epochs), args['torch-threads']], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (run.status !== 0) throw new Error(`PyTorch twin failed (${run.status}): ${run.stderr}`);
  for (const line of run.stdout.trim().split('\n')) {
    const r = JSON.parse(line) as Omit<Result, 'side'>;
    record({ side: 'torch', ...r });
  }
}

const started = performance.now();
for (const seed of seeds) {
  const data = protocolData(seed, poolSize!, testSize!);
  const files = { pool: await writePngs(join(root, `_seed${seed}`, 'pool'), data.pool), test: await writePngs(join(root, `_seed${seed}`, 'test'), data.test) };
  const order = sampleIndices(poolSize!, poolSize!, seedrandom(`labels:${seed}`));
  for (const strategy of strategies) await runMesh(seed, strategy, files, data, order);
  if (!args['no-torch']) runTorch(seed, data, order);
}
c.close();
await mesh.stop();
rmSync(root, { recursive: true, force: true });

console.log(`\n${seeds.length} seed(s), pool ${poolSize}, test ${testSize}, ${initial} + ${step}/round → ${max} labels, ${epochs} epochs; ${((performance.now() - started) / 60000).toFixed(1)} min`);
console.log(summarize(results, budgets));
if (args.svg) writeFileSync(args.svg, learningCurvesSvg(results, `Fashion-MNIST, pool ${poolSize}, test ${testSize}, ${seeds.length} seed(s): mean test accuracy (band: min–max)`));
if (args.json) writeFileSync(args.json, JSON.stringify({ args, budgets, results }, null, 1));
process.exit(0);

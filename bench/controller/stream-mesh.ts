/**
 * StreamPredictions through the mesh without the rest of the data path: the
 * controller as its own process (test/faults/mesh-processes.ts, plaintext
 * with a mesh token) on the real Postgres, one project per N seeded directly
 * in its schema (N images, one labels prediction of 10 logits each, the
 * state's priorities then rewritten by one UPDATE and only their column
 * analysed, as a ranking job leaves the table), then StreamPredictions of the
 * whole state (1,000 images a message) read to its end by a client in this
 * process, which decodes every message. bench/scale/data-path.ts measures the
 * same call after inference and ranking, minutes of work per N.
 *
 * Per run: predictions a second, and the controller's CPU time (/proc) and
 * this process's per prediction. Prints a table of the best run per N and
 * `figure mesh_stream_per_s <value>` (largest N) and `figure mesh_stream_linearity <value>`
 * (time per prediction at the largest N ÷ at the smallest).
 *
 *   node --import tsx bench/controller/stream-mesh.ts [--predictions 20000,100000] [--repeat 3]
 *
 * Needs the real Postgres and NATS.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BlobFolder } from '../../libs/blob/index.js';
import { AnnotationType } from '../../libs/gen/aide/v1/common.js';
import { insertImages } from '../../services/controller/store/images.js';
import { insertState } from '../../services/controller/store/model-states.js';
import { insertPredictions } from '../../services/controller/store/predictions.js';
import { meshUnavailable, startMesh, type Mesh } from '../../test/faults/mesh-processes.js';

const { values: args } = parseArgs({
  options: {
    predictions: { type: 'string', default: '20000,100000' },
    repeat: { type: 'string', default: '3' },
  },
});
const sizes = args.predictions.split(',').map(Number).sort((a, b) => a - b);
const REPEAT = Number(args.repeat);
const CLASSES = 10;
const CHUNK = 2000;

const why = await meshUnavailable();
if (why) throw new Error(`bench/controller/stream-mesh needs the real Postgres and NATS: ${why}`);

/** A process's CPU time so far (user + system), in ms. */
async function cpuMs(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** A labels project of n images with one prediction each in its own state; the state's id. */
async function seed({ api, db }: Mesh, project: string, n: number, dir: string): Promise<string> {
  await api.createProject({
    name: project, displayName: project, annotationType: AnnotationType.ANNOTATION_TYPE_LABELS, predictionType: AnnotationType.ANNOTATION_TYPE_LABELS,
    settings: {
      modelLibrary: 'builtin.labels', modelOptionsJson: '', rankerLibrary: 'builtin.breaking_ties', rankerOptionsJson: '',
      autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 1, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
    },
  });
  const classes = (await api.addLabelClasses({ project, labelClasses: Array.from({ length: CLASSES }, (_, k) => ({ name: `c${k}`, color: '' })) })).labelClasses;
  const blobs = await BlobFolder.open(dir, { sync: false });
  const state = await insertState({ db, blobs }, {
    project, modelLibrary: 'bench', labelClassMap: Object.fromEntries(classes.map((c, k) => [c.id, k])), stats: {}, parentId: null, numImages: 0,
  }, Buffer.from('state'));
  for (let s = 0; s < n; s += CHUNK) {
    await insertImages(db, project, Array.from({ length: Math.min(CHUNK, n - s) }, (_, j) => ({ filePath: `img/${s + j}.png`, sizeBytes: 1, width: 8, height: 8 })));
  }
  const images = (await db.query<{ id: string }>('SELECT id FROM images WHERE project = $1 ORDER BY file_path', [project])).rows;
  for (let s = 0; s < n; s += CHUNK) {
    await insertPredictions(db, project, state.id, images.slice(s, s + CHUNK).map((img, j) => {
      const logits = Array.from({ length: CLASSES }, (_, k) => (((s + j) * 7 + k * 13) % 101) / 1000);
      return { imageId: img.id, predictions: [{ labelClassId: classes[(s + j) % CLASSES]!.id, confidence: 0.5, logits, priority: 0, geometry: { kind: 'label' as const } }] };
    }));
  }
  await db.query('VACUUM ANALYZE predictions');
  await db.query('UPDATE predictions SET priority = random() WHERE state_id = $1', [state.id]);
  await db.query('ANALYZE predictions (priority)');
  return state.id;
}

interface Run { perS: number; controllerUs: number; clientUs: number }

async function streamOnce(mesh: Mesh, project: string, stateId: string): Promise<Run> {
  const pid = mesh.controller.pid!;
  const c0 = await cpuMs(pid);
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  let count = 0;
  for await (const m of mesh.api.streamPredictions({ project, imageId: '', modelStateId: stateId, imagesPerMessage: 1000 })) {
    if (m.payload?.$case === 'images') for (const image of m.payload.value.images) count += image.predictions.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  const u = process.cpuUsage(u0);
  return { perS: count / seconds, controllerUs: ((await cpuMs(pid)) - c0) * 1000 / count, clientUs: (u.user + u.system) / count };
}

const teardown: (() => unknown)[] = [];
const rows: ({ n: number } & Run)[] = [];
try {
  const mesh = await startMesh({ after: (fn) => teardown.push(fn) }, { tls: false, workers: 1, ranker: false });
  const dir = await mkdtemp(path.join(tmpdir(), 'aide-bench-stream-'));
  teardown.push(() => rm(dir, { recursive: true, force: true }));
  for (const n of sizes) {
    const project = `stream${n}`;
    const stateId = await seed(mesh, project, n, path.join(dir, project));
    let best: Run | undefined;
    for (let r = 0; r < REPEAT; r++) {
      const run = await streamOnce(mesh, project, stateId);
      console.error(`# N=${n} run ${r}: ${Math.round(run.perS)}/s, controller ${run.controllerUs.toFixed(1)} µs CPU a prediction, client ${run.clientUs.toFixed(1)}`);
      if (!best || run.perS > best.perS) best = run;
    }
    rows.push({ n, ...best! });
  }
} finally {
  for (const fn of teardown.reverse()) await Promise.resolve().then(fn).catch((err) => console.error('teardown:', err));
}

console.log(`# best of ${REPEAT}; the controller's and the client's CPU in that run`);
console.log('| N | stream pred/s | controller µs CPU/pred | client µs CPU/pred |');
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.n} | ${Math.round(r.perS)} | ${r.controllerUs.toFixed(1)} | ${r.clientUs.toFixed(1)} |`);
const [first, last] = [rows[0]!, rows.at(-1)!];
console.log(`figure mesh_stream_per_s ${Math.round(last.perS)}`);
console.log(`figure mesh_stream_linearity ${(first.perS / last.perS).toFixed(2)}`);

/**
 * StreamPredictions (and with `--steps rank,stream` a ranking job before each
 * stream) through the mesh without the rest of the data path: the controller
 * (and the Ranker) as its own process (test/faults/mesh-processes.ts,
 * plaintext with a mesh token) on the real Postgres, one project per N seeded
 * directly in its schema (N images, one labels prediction of 10 logits each,
 * the state's priorities then rewritten by one UPDATE and only their column
 * analysed, as a ranking job leaves the table), then StreamPredictions of the
 * whole state (1,000 images a message) read to its end by a client in this
 * process, which decodes every message. bench/scale/data-path.ts measures the
 * same calls after inference, minutes of work per N.
 *
 * Per run: predictions a second, and the CPU time (/proc) per prediction of
 * the controller, of every postgres process together, and of this process
 * (rank: of the Ranker). A rank run is StartRanking (builtin.breaking_ties)
 * until its job reports SUCCEEDED, as bench/scale/data-path.ts times it.
 * Prints a table of the best run per N and step, and per step
 * `figure mesh_<step>_per_s <value>` (largest N) and `figure mesh_<step>_linearity <value>`
 * (time per prediction at the largest N ÷ at the smallest).
 *
 *   node --import tsx bench/controller/stream-mesh.ts [--predictions 20000,100000] [--repeat 3] [--steps stream|rank,stream]
 *
 * Needs the real Postgres and NATS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BlobFolder } from '../../libs/blob/index.js';
import { AnnotationType, JobState } from '../../libs/gen/aide/v1/common.js';
import { StartRankingRequest } from '../../libs/gen/aide/v1/controller.js';
import { insertImages } from '../../services/controller/store/images.js';
import { insertState, setCurrentState } from '../../services/controller/store/model-states.js';
import { insertPredictions } from '../../services/controller/store/predictions.js';
import { lastState, meshUnavailable, startMesh, type Mesh } from '../../test/faults/mesh-processes.js';
import { cpuDuring, postgresPids } from '../support/process-cpu.js';

const { values: args } = parseArgs({
  options: {
    predictions: { type: 'string', default: '20000,100000' },
    repeat: { type: 'string', default: '3' },
    steps: { type: 'string', default: 'stream' },
  },
});
const sizes = args.predictions.split(',').map(Number).sort((a, b) => a - b);
const REPEAT = Number(args.repeat);
const STEPS = ['rank', 'stream'] as const;
type Step = (typeof STEPS)[number];
const chosen = STEPS.filter((x) => args.steps.split(',').includes(x));
const CLASSES = 10;
const CHUNK = 2000;

const why = await meshUnavailable();
if (why) throw new Error(`bench/controller/stream-mesh needs the real Postgres and NATS: ${why}`);

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
  await setCurrentState(db, project, state.id); // what StartRanking ranks
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

interface Run { perS: number; controllerUs: number; postgresUs: number; otherUs: number }

/** How many predictions `work` handled a second, and the CPU µs per prediction of the controller, Postgres and `other`. */
async function measured(mesh: Mesh, other: 'client' | 'ranker', work: () => Promise<number>): Promise<Run> {
  const groups = [
    { name: 'controller', pids: () => [mesh.controller.pid!] }, { name: 'postgres', pids: postgresPids },
    { name: 'ranker', pids: () => (mesh.ranker.pid === undefined ? [] : [mesh.ranker.pid]) },
  ];
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  const { result: count, cpu } = await cpuDuring(groups, work);
  const seconds = (performance.now() - t0) / 1000;
  const u = process.cpuUsage(u0);
  const us = (s: number) => (s * 1e6) / count;
  const otherUs = other === 'client' ? (u.user + u.system) / count : us(cpu.ranker!);
  return { perS: count / seconds, controllerUs: us(cpu.controller!), postgresUs: us(cpu.postgres!), otherUs };
}

const runStep: Record<Step, (mesh: Mesh, project: string, stateId: string, n: number) => Promise<Run>> = {
  rank: (mesh, project, _stateId, n) => measured(mesh, 'ranker', async () => {
    const jobId = (await mesh.api.startRanking(StartRankingRequest.fromPartial({ project }))).job!.id;
    const { state, message } = lastState(await mesh.watch(project, jobId, 600_000).done);
    if (state !== JobState.JOB_STATE_SUCCEEDED) throw new Error(`ranking ended ${JobState[state]}: ${message}`);
    return n;
  }),
  stream: (mesh, project, stateId) => measured(mesh, 'client', async () => {
    let predictions = 0;
    for await (const m of mesh.api.streamPredictions({ project, imageId: '', modelStateId: stateId, imagesPerMessage: 1000 })) {
      if (m.payload?.$case === 'images') for (const image of m.payload.value.images) predictions += image.predictions.length;
    }
    return predictions;
  }),
};

const teardown: (() => unknown)[] = [];
const rows: ({ n: number; step: Step } & Run)[] = [];
try {
  const mesh = await startMesh({ after: (fn) => teardown.push(fn) }, { tls: false, workers: 1, ranker: chosen.includes('rank') });
  const dir = await mkdtemp(path.join(tmpdir(), 'aide-bench-stream-'));
  teardown.push(() => rm(dir, { recursive: true, force: true }));
  for (const n of sizes) {
    const project = `stream${n}`;
    const stateId = await seed(mesh, project, n, path.join(dir, project));
    const best: Partial<Record<Step, Run>> = {};
    for (let r = 0; r < REPEAT; r++) {
      for (const step of chosen) {
        const run = await runStep[step](mesh, project, stateId, n);
        console.error(`# N=${n} run ${r} ${step}: ${Math.round(run.perS)}/s, µs CPU a prediction: controller ${run.controllerUs.toFixed(1)}, postgres ${run.postgresUs.toFixed(1)}, ${step === 'rank' ? 'ranker' : 'client'} ${run.otherUs.toFixed(1)}`);
        if (!best[step] || run.perS > best[step].perS) best[step] = run;
      }
    }
    for (const step of chosen) rows.push({ n, step, ...best[step]! });
  }
} finally {
  for (const fn of teardown.reverse()) await Promise.resolve().then(fn).catch((err) => console.error('teardown:', err));
}

console.log(`# best of ${REPEAT}; the CPU of the controller, Postgres and the client (stream) or the Ranker (rank) in that run`);
console.log('| N | step | pred/s | controller µs CPU/pred | postgres µs CPU/pred | client or Ranker µs CPU/pred |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.n} | ${r.step} | ${Math.round(r.perS)} | ${r.controllerUs.toFixed(1)} | ${r.postgresUs.toFixed(1)} | ${r.otherUs.toFixed(1)} |`);
for (const step of chosen) {
  const of = rows.filter((r) => r.step === step);
  const [first, last] = [of[0]!, of.at(-1)!];
  console.log(`figure mesh_${step}_per_s ${Math.round(last.perS)}`);
  console.log(`figure mesh_${step}_linearity ${(first.perS / last.perS).toFixed(2)}`);
}

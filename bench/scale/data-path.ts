/**
 * The data path at scale, with the mesh as separate processes on the real
 * Postgres and NATS (test/faults/mesh-processes.ts: controller, K workers,
 * FileServer and Ranker, plaintext with a mesh token), one project per N:
 *
 *   upload     N images of about 10 KB (PNG) through one PutFiles stream
 *   register   RegisterImages of the folder
 *   train      a few hundred of them labelled, one epoch (not measured)
 *   inference  every unlabelled image through the mesh (StartInference → SUCCEEDED),
 *              against the reference: the same model with the same state and
 *              threads predicting the same images, already decoded, in this
 *              process (inference() over an in-memory FileSource)
 *   rank       breaking ties over the state's predictions (StartRanking → SUCCEEDED)
 *   stream     StreamPredictions of the whole state, read to its end (1,000 images a message;
 *              BENCH_STREAM_IMAGES_PER_MESSAGE=1 for one image a message)
 *   next batch NextBatch pages (100 images, with and without filters, paged) at N predictions
 *   memory     the controller's and the workers' largest RSS while each N ran (sampled), MB
 *   cpu        CPU µs per image of each process (controller, workers, FileServer, Ranker, every postgres
 *              process) while inference ran, against the model alone's: where an image's time goes
 *
 *   node --import tsx bench/scale/data-path.ts --images 10000,100000 [--workers 1] [--labelled 200]
 *
 * AIDE_CPU_PROF_DIR=<dir>: each service also writes a V8 CPU profile there (test/support/service-process.ts).
 *
 * Prints a table and `figure <name> <value>` lines for the largest N (and
 * `linearity_*`: time per image at the largest N ÷ at the smallest).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { AnnotationType, JobState } from '../../libs/gen/aide/v1/common.js';
import { NextBatchRequest, StartRankingRequest } from '../../libs/gen/aide/v1/controller.js';
import type { FileSource, ImageResult } from '../../libs/plugin/context.js';
import { LabelsClassifier } from '../../models/builtin/classifier/model.js';
import {
  lastState, meshUnavailable, startInference, startMesh, startTraining, type MeshService,
} from '../../test/faults/mesh-processes.js';
import { noisePngs } from '../support/noise-pngs.js';
import { cpuDuring, postgresPids } from '../support/process-cpu.js';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '1' },
    labelled: { type: 'string', default: '200' },
    threads: { type: 'string', default: '1' },
  },
});
const sizes = args.images.split(',').map(Number).sort((a, b) => a - b);
const workers = Number(args.workers);
const labelled = Number(args.labelled);
const threads = Number(args.threads);
const JOB_TIMEOUT_MS = 3_600_000;
/** StreamPredictions' images_per_message (1: one image a message, as before it existed). */
const STREAM_IMAGES_PER_MESSAGE = Number(process.env.BENCH_STREAM_IMAGES_PER_MESSAGE ?? 1000);

const why = await meshUnavailable();
if (why) throw new Error(`bench/scale needs the real Postgres and NATS: ${why}`);

/** The classifier at a size where the network, not the plumbing, should dominate: 32×32 input, one epoch. */
const INPUT = 32;
const modelOptions = {
  options: {
    network: { inputSize: { value: INPUT }, width: { value: 16 }, depth: { value: 2 } },
    training: { epochs: { value: 1 }, batchSize: { value: 64 }, validationFraction: { value: 0 } },
    runtime: { threads: { value: threads } },
  },
};

/** 64 distinct PNGs (56×56 noise, reddish or bluish by class), reused cyclically. */
const SIDE = 56;
const pngs = await noisePngs(64, SIDE);
const pathOf = (i: number) => `img/${String(Math.floor(i / 1000)).padStart(4, '0')}/${String(i).padStart(7, '0')}.png`;

const teardown: (() => unknown)[] = [];
const mesh = await startMesh({ after: (fn) => teardown.push(fn) }, { tls: false, workers });

/** Largest resident set of the services while `work` runs, sampled every 100 ms (VmRSS). */
async function peakRss<T>(services: MeshService[], work: () => Promise<T>): Promise<{ result: T; mb: number[] }> {
  const peaks = services.map(() => 0);
  const sample = () => services.forEach((s, i) => {
    const status = s.pid ? readFileSync(`/proc/${s.pid}/status`, 'utf8') : '';
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    peaks[i] = Math.max(peaks[i]!, kb / 1024);
  });
  const timer = setInterval(sample, 100);
  try {
    const result = await work();
    sample();
    return { result, mb: peaks };
  } finally {
    clearInterval(timer);
  }
}

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; s: number }> {
  const t0 = performance.now();
  const result = await work();
  return { result, s: (performance.now() - t0) / 1000 };
}

async function runJob(project: string, jobId: string): Promise<void> {
  const { state, message } = lastState(await mesh.watch(project, jobId, JOB_TIMEOUT_MS).done);
  if (state !== JobState.JOB_STATE_SUCCEEDED) throw new Error(`job ${jobId} ended ${JobState[state]}: ${message}`);
}

/** The reference: the same model, state and threads on the same images decoded in advance, in this process. */
async function modelAlone(state: Uint8Array, count: number): Promise<{ perS: number; cpuUsPerImage: number }> {
  const decoded = await Promise.all(pngs.map(async (png) => {
    const { data, info } = await sharp(png).resize(INPUT, INPUT, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    return { data, info: { ...info, sourceWidth: SIDE, sourceHeight: SIDE } };
  }));
  const memory: FileSource = {
    getFile: () => Promise.resolve(null),
    async *getImages(paths) {
      for (const [index, path] of paths.entries()) yield { index, path, image: decoded[Number(/(\d+)\.png$/.exec(path)![1]) % decoded.length]! } satisfies ImageResult;
    },
  };
  const model = new LabelsClassifier({
    project: 'reference', options: { options: { ...modelOptions.options, runtime: { threads: { value: threads * workers } } } },
    config: { getProperty: (_s, _k, _t, fallback) => fallback }, dbConnector: { execute: () => Promise.resolve(null) }, fileServer: memory,
  });
  const images = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`id-${i}`, { filename: pathOf(i) }]));
  const labelClasses = {};
  await model.inference(state, { images: images(512), labelClasses }, () => {}); // the pool warm, as the worker's is after training
  const cpu0 = process.cpuUsage();
  const { s } = await timed(() => model.inference(state, { images: images(count), labelClasses }, () => {}));
  const cpu = process.cpuUsage(cpu0);
  return { perS: count / s, cpuUsPerImage: (cpu.user + cpu.system) / count };
}

interface Row {
  n: number;
  upload: number;
  register: number;
  inference: number;
  model: number;
  rank: number;
  stream: number;
  nextBatchP50: number;
  /** CPU µs per image while inference ran, by process (cpuDuring), and the model alone's. */
  inferenceCpuUs: Record<string, number>;
  modelCpuUs: number;
  controllerMb: number;
  workerMb: number;
  /** Seconds per image, for linearity. */
  perImage: { inference: number; rank: number; stream: number };
}

async function measure(n: number): Promise<Row> {
  const project = `scale${n}`;
  const { api } = mesh;
  await api.createProject({
    name: project, displayName: project, annotationType: AnnotationType.ANNOTATION_TYPE_LABELS, predictionType: AnnotationType.ANNOTATION_TYPE_LABELS,
    settings: {
      modelLibrary: 'builtin.labels', modelOptionsJson: JSON.stringify(modelOptions),
      rankerLibrary: 'builtin.breaking_ties', rankerOptionsJson: '',
      autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: workers, numEpochs: 1 },
      ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
    },
  });
  const classes = (await api.addLabelClasses({ project, labelClasses: [{ name: 'red', color: '#ff0000' }, { name: 'blue', color: '#0000ff' }] })).labelClasses.map((c) => c.id);
  const files = mesh.files(project);

  const upload = await timed(() => files.putFiles((function* () {
    for (let i = 0; i < n; i++) yield { path: pathOf(i), content: pngs[i % pngs.length]! };
  })()));
  const register = await timed(() => api.registerImages({ project, prefix: 'img' }));
  if (register.result.added !== n) throw new Error(`registered ${register.result.added} of ${n}`);

  const first = await api.listImages({ project, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: labelled, pageToken: '' });
  await api.upsertAnnotations({
    project,
    annotations: first.images.map((image) => ({
      id: '', imageId: image.id, labelClassId: classes[Number(/(\d+)\.png$/.exec(image.filePath)![1]) % 2]!, unsure: false, author: '', createdAt: undefined, geometry: undefined,
    })),
  });
  await runJob(project, await startTraining(api, project, workers));

  const services = [mesh.controller, ...mesh.workers];
  const pidsOf = (...of: MeshService[]) => () => of.flatMap((s) => (s.pid === undefined ? [] : [s.pid]));
  const cpuProcesses = [
    { name: 'controller', pids: pidsOf(mesh.controller) }, { name: 'workers', pids: pidsOf(...mesh.workers) },
    { name: 'fileserver', pids: pidsOf(mesh.fileServer) }, { name: 'ranker', pids: pidsOf(mesh.ranker) },
    { name: 'postgres', pids: postgresPids },
  ];
  const unlabelled = n - first.images.length;
  const { result, mb } = await peakRss(services, async () => {
    const { result: inference, cpu: inferenceCpu } = await cpuDuring(cpuProcesses, () => timed(async () => runJob(project, await startInference(api, project, workers))));
    const rank = await timed(async () => runJob(project, (await api.startRanking(StartRankingRequest.fromPartial({ project }))).job!.id));
    const stream = await timed(async () => {
      let predictions = 0;
      for await (const m of api.streamPredictions({ project, imageId: '', modelStateId: '', imagesPerMessage: STREAM_IMAGES_PER_MESSAGE })) {
        if (m.payload?.$case === 'image') predictions += m.payload.value.predictions.length;
        if (m.payload?.$case === 'images') for (const image of m.payload.value.images) predictions += image.predictions.length;
      }
      return predictions;
    });
    if (stream.result !== unlabelled) throw new Error(`streamed ${stream.result} predictions, expected ${unlabelled}`);
    const latencies: number[] = [];
    let pageToken = '';
    for (let i = 0; i < 21; i++) {
      const filter = i % 3 === 1 ? { pathPrefix: 'img/0000/' } : i % 3 === 2 ? { excludePrefixes: ['img/0001/'] } : {};
      const t0 = performance.now();
      const page = await api.nextBatch(NextBatchRequest.fromPartial({ project, limit: 100, ...filter, pageToken: i % 3 === 0 ? pageToken : '' }));
      latencies.push(performance.now() - t0);
      if (i % 3 === 0) pageToken = page.nextPageToken;
    }
    return { inference, inferenceCpu, rank, stream, latencies };
  });

  const states = await api.listModelStates({ project });
  const parts: Uint8Array[] = [];
  for await (const m of api.exportModelState({ project, id: states.states[0]!.id })) if (m.payload?.$case === 'chunk') parts.push(m.payload.value.data);
  const model = await modelAlone(Buffer.concat(parts), Math.min(unlabelled, 20_000));

  const sorted = [...result.latencies].sort((a, b) => a - b);
  return {
    n,
    upload: n / upload.s,
    register: n / register.s,
    inference: unlabelled / result.inference.s,
    model: model.perS,
    inferenceCpuUs: Object.fromEntries(Object.entries(result.inferenceCpu).map(([k, v]) => [k, (v * 1e6) / unlabelled])),
    modelCpuUs: model.cpuUsPerImage,
    rank: unlabelled / result.rank.s,
    stream: unlabelled / result.stream.s,
    nextBatchP50: sorted[Math.floor(sorted.length / 2)]!,
    controllerMb: mb[0]!,
    workerMb: Math.max(...mb.slice(1)),
    perImage: { inference: result.inference.s / unlabelled, rank: result.rank.s / unlabelled, stream: result.stream.s / unlabelled },
  };
}

const rows: Row[] = [];
try {
  for (const n of sizes) {
    rows.push(await measure(n));
    console.error(`N=${n} done`);
  }
} finally {
  for (const fn of teardown.reverse()) await Promise.resolve().then(fn).catch((err) => console.error('teardown:', err));
}

const f0 = (x: number) => x.toFixed(0);
console.log(`\ndata path, mesh as processes, ${workers} worker(s) × ${threads} thread(s), classifier ${INPUT}×${INPUT}, ${labelled} labelled`);
console.log('| N | upload files/s | register/s | inference img/s | model alone img/s | inference ÷ model | rank pred/s | stream pred/s | NextBatch p50 ms | controller RSS MB | worker RSS MB |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.n} | ${f0(r.upload)} | ${f0(r.register)} | ${f0(r.inference)} | ${f0(r.model)} | ${(r.inference / r.model).toFixed(2)} | ${f0(r.rank)} | ${f0(r.stream)} | ${r.nextBatchP50.toFixed(1)} | ${f0(r.controllerMb)} | ${f0(r.workerMb)} |`);
}
console.log('\nCPU µs per image while inference ran (all threads; model alone: the reference in this process)');
const cpuNames = Object.keys(rows[0]!.inferenceCpuUs);
console.log(`| N | ${cpuNames.join(' | ')} | all | model alone |`);
console.log(`|---|${cpuNames.map(() => '---|').join('')}---|---|`);
for (const r of rows) {
  const all = Object.values(r.inferenceCpuUs).reduce((a, b) => a + b, 0);
  console.log(`| ${r.n} | ${cpuNames.map((k) => f0(r.inferenceCpuUs[k]!)).join(' | ')} | ${f0(all)} | ${f0(r.modelCpuUs)} |`);
}
const last = rows.at(-1)!;
console.log(`figure inference_vs_model ${(last.inference / last.model).toFixed(2)}`);
console.log(`figure rank_per_s ${f0(last.rank)}`);
console.log(`figure stream_predictions_per_s ${f0(last.stream)}`);
console.log(`figure register_per_s ${f0(last.register)}`);
console.log(`figure upload_files_per_s ${f0(last.upload)}`);
console.log(`figure next_batch_ms_p50 ${last.nextBatchP50.toFixed(1)}`);
console.log(`figure controller_rss_mb ${f0(last.controllerMb)}`);
console.log(`figure worker_rss_mb ${f0(last.workerMb)}`);
if (rows.length > 1) {
  const base = rows[0]!;
  for (const k of ['inference', 'rank', 'stream'] as const) {
    console.log(`figure linearity_${k} ${(last.perImage[k] / base.perImage[k]).toFixed(2)}`);
  }
}

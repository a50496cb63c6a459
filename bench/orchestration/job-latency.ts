/**
 * Orchestration overhead, in one run on this machine:
 *  - StartTraining → SUCCEEDED latency of a no-op job (fixture model, one step)
 *    through the controller, against the same training call sent straight to a
 *    worker (the reference: what the controller adds is the ratio);
 *  - progress lag: worker publish time (event.time) → a WatchJob client's receipt.
 * Usage: node --import tsx bench/orchestration/job-latency.ts [jobs=40]
 * Uses the real Postgres and NATS when AIDE_DATABASE_URL / AIDE_NATS_URL are set,
 * else the embedded defaults.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnnotationType } from '../../libs/gen/aide/v1/common.js';
import { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import * as grpc from '@grpc/grpc-js';
import { createClient } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import { train, workerClient } from '../../libs/worker-client/worker-client.js';
import { startEmbeddedMesh } from '../../services/embedded/mesh.js';

const jobs = Number(process.argv[2] ?? 40);
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

const mesh = await startEmbeddedMesh({
  logger: createLogger('bench', 'warn'),
  env: {
    ...process.env,
    AIDE_AICONTROLLER_PORT: '0', AIDE_RANKER_PORT: '0', AIDE_FILESERVER_PORT: '0', AIDE_FILESERVER_HTTP_PORT: '0',
    AIDE_FILESERVER_ROOT: mkdtempSync(join(tmpdir(), 'aide-bench-')),
    AIDE_MODELS_EXTRA: './test/support/fixture-model.ts#FixtureModel',
    AIDE_AICONTROLLER_WORKERS_RESOLVE_INTERVAL_S: '1',
  },
});
const metadata = new grpc.Metadata();
metadata.set('authorization', `Bearer ${mesh.adminToken}`);
const c = createClient(ControllerServiceService, mesh.controller, { metadata });
const project = 'bench';
await c.createProject({
  name: project, displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_LABELS, predictionType: AnnotationType.ANNOTATION_TYPE_POINTS,
  settings: { modelLibrary: 'test.fixture', modelOptionsJson: JSON.stringify({ steps: 1, stepMs: 0 }), rankerLibrary: '', rankerOptionsJson: '',
    autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 1, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0 },
});
const { labelClass } = await c.addLabelClass({ project, name: 'a', color: '' });
await mesh.database.pool.query(`INSERT INTO images (project, file_path) SELECT $1, 'img/' || g || '.jpg' FROM generate_series(1, 8) g`, [project]);
const images = (await c.listImages({ project, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 10, pageToken: '' })).images;
await c.upsertAnnotations({ project, annotations: images.map((img) => ({ id: '', imageId: img.id, labelClassId: labelClass!.id, unsure: false, author: '', createdAt: undefined, geometry: undefined })) });

async function runJob(options: object): Promise<{ ms: number; lags: number[] }> {
  const settings = (await c.getProject({ project })).project!.settings!;
  await c.updateProjectSettings({ project, settings: { ...settings, modelOptionsJson: JSON.stringify(options) } });
  const started = performance.now();
  const { job } = await c.startTraining({ project, numWorkers: 1, numEpochs: 1, imageIds: [], fromScratch: false });
  const lags: number[] = [];
  for await (const { event } of c.watchJob({ project, id: job!.id })) if (event?.time) lags.push(Date.now() - event.time.getTime());
  return { ms: performance.now() - started, lags };
}

// Warm-up, then the no-op jobs through the controller.
await runJob({ steps: 1, stepMs: 0 });
const viaController: number[] = [];
for (let i = 0; i < jobs; i++) viaController.push((await runJob({ steps: 1, stepMs: 0 })).ms);

// Reference: the same training call sent straight to a worker.
const w = workerClient(mesh.workers[0]!);
const header = { jobId: 'ref', project, modelLibrary: 'test.fixture', modelOptionsJson: JSON.stringify({ steps: 1, stepMs: 0 }), annotationType: 1, predictionType: 2,
  labelClasses: [{ id: labelClass!.id, project, name: 'a', color: '', index: 1 }], ignoreUnlabeled: false, traceparent: '' };
const data = images.map((img) => ({ id: img.id, filename: img.filePath, annotations: [] }));
const direct: number[] = [];
for (let i = 0; i < jobs; i++) {
  const t0 = performance.now();
  await train(w, { ...header, jobId: `ref-${i}` }, data, null);
  direct.push(performance.now() - t0);
}

// Progress lag: a job reporting 50 steps of 40 ms (throttled to ≤ 10 events/s at the worker).
const { lags } = await runJob({ steps: 50, stepMs: 40 });

const p50c = quantile(viaController, 0.5);
const p50d = quantile(direct, 0.5);
console.log(`backend: ${process.env.AIDE_DATABASE_URL ? 'Postgres' : 'PGlite'} + ${process.env.AIDE_NATS_URL ? 'NATS JetStream' : 'in-process bus'}; ${jobs} jobs each`);
console.log(`StartTraining → SUCCEEDED (no-op job): p50 ${fmt(p50c)}, p99 ${fmt(quantile(viaController, 0.99))}`);
console.log(`reference, Train straight to a worker:  p50 ${fmt(p50d)}, p99 ${fmt(quantile(direct, 0.99))}`);
console.log(`ratio p50 controller ÷ direct: ${(p50c / p50d).toFixed(1)}×`);
console.log(`progress lag publish → watcher (${lags.length} events): p50 ${fmt(quantile(lags, 0.5))}, p99 ${fmt(quantile(lags, 0.99))}`);
w.close();
c.close();
await mesh.stop();
process.exit(0);

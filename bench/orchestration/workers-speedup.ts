/**
 * Distributed training speedup: the built-in classifier ("builtin.labels")
 * trained through the embedded mesh on generated shape images, on 1 worker
 * and then on 2 workers (disjoint shards + averaging), same data, options and
 * machine, in one run. Workers run as their own processes (as deployed), each
 * pinned to a core of its own (`taskset`: worker 1 on core 0, worker 2 on
 * core 1), each model with `threads` tfjs threads (1 by default): one worker
 * has one core, two have two. Each variant is timed `repeats` times,
 * alternating, and the best counts. Prints `figure workers_speedup`.
 * Usage: node --import tsx bench/orchestration/workers-speedup.ts [imagesPerShape=60] [epochs=3] [threads=1] [repeats=2]
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnnotationType, JobState } from '../../libs/gen/aide/v1/common.js';
import { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import { createClient } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import { builtins } from '../../models/index.js';
import { startEmbeddedMesh } from '../../services/embedded/mesh.js';
import { makeShapeSet, PROJECT, SHAPES } from '../../test/models/shapes.js';
import { tokenMetadata } from '../../test/support/auth.js';
import { startServiceProcess } from '../../test/support/service-process.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const [perShape = 60, epochs = 3, threads = 1, repeats = 2] = process.argv.slice(2).map(Number);
const root = mkdtempSync(join(tmpdir(), 'aide-speedup-'));
await makeShapeSet(root, 'train', perShape, 7);
const fileServerPort = await freePort();
const workerEnv = { AIDE_AIWORKER_HOST: '127.0.0.1', AIDE_AIWORKER_PORT: '0', AIDE_AIWORKER_FILESERVER: `127.0.0.1:${fileServerPort}` };
const workers = await Promise.all([startServiceProcess('worker', workerEnv, { cpus: '0' }), startServiceProcess('worker', workerEnv, { cpus: '1' })]);
const mesh = await startEmbeddedMesh({
  logger: createLogger('bench', 'warn'), workers: workers.map((w) => w.address),
  env: { AIDE_AICONTROLLER_PORT: '0', AIDE_RANKER_PORT: '0', AIDE_FILESERVER_PORT: String(fileServerPort), AIDE_FILESERVER_HTTP_PORT: '0', AIDE_FILESERVER_ROOT: root },
});
const c = createClient(ControllerServiceService, mesh.controller, { metadata: tokenMetadata(mesh.adminToken) });

// The classifier's defaults with the benchmark's epochs and threads.
const options = JSON.parse(builtins.find((b) => b.metadata.key === 'builtin.labels')!.getDefaultOptions!()) as { options: Record<string, Record<string, { value: unknown }>> };
options.options.training!.epochs!.value = epochs;
options.options.runtime!.threads!.value = threads;
await c.createProject({
  name: PROJECT, displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_LABELS, predictionType: AnnotationType.ANNOTATION_TYPE_LABELS,
  settings: { modelLibrary: 'builtin.labels', modelOptionsJson: JSON.stringify(options), rankerLibrary: '', rankerOptionsJson: '',
    autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 1, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0 },
});
const classIds = new Map<string, string>();
for (const shape of SHAPES) classIds.set(shape, (await c.addLabelClass({ project: PROJECT, name: shape, color: '' })).labelClass!.id);
await c.registerImages({ project: PROJECT, prefix: 'train' });
const images = [];
for (let token = ''; ;) {
  const page = await c.listImages({ project: PROJECT, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 1000, pageToken: token });
  images.push(...page.images);
  if (!(token = page.nextPageToken)) break;
}
const shapeOf = (file: string) => SHAPES.find((s) => file.includes(`/${s}-`))!;
await c.upsertAnnotations({ project: PROJECT, annotations: images.map((img) => ({
  id: '', imageId: img.id, labelClassId: classIds.get(shapeOf(img.filePath))!, unsure: false, author: '', createdAt: undefined, geometry: undefined,
})) });

async function timeTraining(numWorkers: number): Promise<{ seconds: number; stats: Record<string, number> }> {
  const started = performance.now();
  const { job } = await c.startTraining({ project: PROJECT, numWorkers, numEpochs: 1, imageIds: [], fromScratch: false });
  let last;
  for await (const { event } of c.watchJob({ project: PROJECT, id: job!.id })) last = event;
  if (last?.state !== JobState.JOB_STATE_SUCCEEDED) throw new Error(`training failed: ${last?.message}`);
  const states = (await c.listModelStates({ project: PROJECT })).states;
  return { seconds: (performance.now() - started) / 1000, stats: states.at(-1)!.stats };
}

await timeTraining(2); // warm-up of both workers: kernels compiled, images cached by the OS
let one = { seconds: Infinity, stats: {} as Record<string, number> };
let two = { seconds: Infinity, stats: {} as Record<string, number> };
for (let r = 0; r < repeats; r++) {
  const a = await timeTraining(1);
  if (a.seconds < one.seconds) one = a;
  const b = await timeTraining(2);
  if (b.seconds < two.seconds) two = b;
  console.log(`repeat ${r + 1}: 1 worker ${a.seconds.toFixed(1)} s, 2 workers ${b.seconds.toFixed(1)} s`);
}
console.log(`${images.length} images (${perShape} per shape), ${epochs} epochs, ${threads} tfjs thread(s) per worker`);
console.log(`1 worker : ${one.seconds.toFixed(1)} s  (${(images.length * epochs / one.seconds).toFixed(0)} img/s), stats ${JSON.stringify(one.stats)}`);
console.log(`2 workers: ${two.seconds.toFixed(1)} s  (${(images.length * epochs / two.seconds).toFixed(0)} img/s), stats ${JSON.stringify(two.stats)}`);
console.log(`speedup 2 vs 1: ${(one.seconds / two.seconds).toFixed(2)}×`);
console.log(`figure workers_speedup ${(one.seconds / two.seconds).toFixed(2)}`);
c.close();
await mesh.stop();
for (const w of workers) w.kill();
process.exit(0);

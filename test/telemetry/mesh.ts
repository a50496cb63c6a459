/**
 * A traced mesh in one process for the telemetry tests: a FileServer holding
 * a project's images, two workers with the file-reading model, the job runner
 * on an embedded database, every service with a /metrics endpoint.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type pg from 'pg';
import { Config } from '../../libs/config/config.js';
import { migrate } from '../../libs/db/index.js';
import { FileServerClient } from '../../libs/fileserver-client/index.js';
import { RankerServiceService } from '../../libs/gen/aide/v1/ranker.js';
import { createClient } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import { loadRegistry } from '../../libs/plugin/registry.js';
import type { RunningService } from '../../libs/service/runtime.js';
import type { EventBus } from '../../libs/bus/index.js';
import { JobRunner } from '../../services/controller/orchestration/runner.js';
import { WorkerPool } from '../../services/controller/orchestration/worker-pool.js';
import { CONTROLLER_MIGRATIONS } from '../../services/controller/schema/index.js';
import { addLabelClass } from '../../services/controller/store/label-classes.js';
import { upsertAnnotations } from '../../services/controller/store/annotations.js';
import { insertImages } from '../../services/controller/store/images.js';
import { insertProject } from '../../services/controller/store/projects.js';
import { createJob } from '../../services/controller/store/jobs.js';
import type { Job } from '../../services/controller/domain.js';
import { OPEN_FILE_ACCESS } from '../../services/fileserver/auth.js';
import { startFileServer } from '../../services/fileserver/main.js';
import { startWorker } from '../../services/worker/main.js';
import { databaseTargets, withTestSchema } from '../support/postgres.js';
import { FileReadingModel } from './file-reading-model.js';
import { tempStateStore } from '../support/state-store.js';

export const logger = createLogger('test', 'silent');
export const PROJECT = 'traced';
export const IMAGES = ['tiles/0.jpg', 'tiles/1.jpg', 'tiles/2.jpg', 'tiles/3.jpg'];
export const IMAGE_BYTES = 1000;

const settings = (env: Record<string, string>) => Config.load({ text: '', env: { AIDE_SECURITY_PLAINTEXT: 'true', ...env } });

export interface Mesh {
  db: pg.Pool;
  fileServer: RunningService;
  workers: RunningService[];
  runner: JobRunner;
}

export async function startMesh(t: TestContext, bus: EventBus): Promise<Mesh> {
  const [, pglite] = await databaseTargets();
  const database = (await withTestSchema(t, pglite!))!;
  await migrate(database.pool, CONTROLLER_MIGRATIONS);

  const root = mkdtempSync(join(tmpdir(), 'aide-telemetry-'));
  mkdirSync(join(root, PROJECT, 'tiles'), { recursive: true });
  for (const path of IMAGES) writeFileSync(join(root, PROJECT, path), Buffer.alloc(IMAGE_BYTES, 7));
  const fileServer = await startFileServer(settings({
    AIDE_FILESERVER_ROOT: root, AIDE_FILESERVER_HOST: '127.0.0.1', AIDE_FILESERVER_PORT: '0', AIDE_FILESERVER_HTTP_PORT: '0', AIDE_FILESERVER_METRICS_PORT: '0',
  }), logger, { access: OPEN_FILE_ACCESS });

  const registry = await loadRegistry({ builtins: [FileReadingModel], logger });
  const fileSource = (project: string) => new FileServerClient({ address: fileServer.addresses.grpc!, project });
  const workers = await Promise.all(['w1', 'w2'].map((id) => startWorker(settings({
    AIDE_AIWORKER_HOST: '127.0.0.1', AIDE_AIWORKER_PORT: '0', AIDE_AIWORKER_METRICS_PORT: '0', AIDE_AIWORKER_BACKEND: 'cpu', AIDE_AIWORKER_WORKER_ID: id,
  }), logger, { registry, bus, fileSource })));

  const pool = new WorkerPool({ staticAddresses: workers.map((w) => w.addresses.grpc!), refreshMs: 60_000, logger });
  await pool.start();
  const ranker = createClient(RankerServiceService, 'unix:/nonexistent-ranker');
  const states = await tempStateStore(t, database.pool);
  const runner = new JobRunner(
    { db: database.pool, states, bus, logger, workers: pool, ranker, registry, maxAttempts: 2 },
    { owner: 'telemetry-test', leaseMs: 30_000, pollMs: 50, maxActive: 1 },
  );
  t.after(async () => {
    await runner.stop();
    pool.stop();
    ranker.close();
    await Promise.all([...workers, fileServer].map((s) => s.shutdown(1000)));
  });
  return { db: database.pool, fileServer, workers, runner };
}

/** A project whose images are all annotated, and a training job of it on both workers (queued, not yet run). */
export async function queueTrainingJob(db: pg.Pool): Promise<Job> {
  await insertProject(db, {
    name: PROJECT, displayName: '', annotationType: 'points', predictionType: 'points',
    settings: {
      modelLibrary: FileReadingModel.metadata.key, modelOptionsJson: '', rankerLibrary: '', rankerOptionsJson: '',
      autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 2, numEpochs: 1 },
      ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
    },
  });
  const labelClass = await addLabelClass(db, PROJECT, { name: 'elephant', color: '' });
  await insertImages(db, PROJECT, IMAGES.map((filePath) => ({ filePath, sizeBytes: IMAGE_BYTES, width: 1, height: 1 })));
  const { rows } = await db.query<{ id: string }>('SELECT id FROM images WHERE project = $1', [PROJECT]);
  await upsertAnnotations(db, PROJECT, rows.map(({ id }) => ({
    imageId: id, labelClassId: labelClass.id, unsure: false, author: 'test', geometry: { kind: 'point' as const, x: 0.5, y: 0.5 },
  })));
  return createJob(db, { project: PROJECT, kind: 'train', options: { num_workers: 2 } });
}

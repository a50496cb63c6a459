/**
 * A controller with its real job runner in this process, two in-process
 * workers with the fixture model, the in-process bus, and the first database
 * target available (real Postgres, else PGlite). The runner can be stopped and
 * replaced, as a controller restart would (same owner: it takes its jobs back).
 * Clients call as a mesh peer (test/controller/harness.ts's test authentication).
 */
import type { TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { MemoryBus } from '../../libs/bus/index.js';
import { Config } from '../../libs/config/config.js';
import { migrate } from '../../libs/db/index.js';
import { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import type { ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import { RankerServiceService } from '../../libs/gen/aide/v1/ranker.js';
import { createClient, type Client } from '../../libs/grpc/index.js';
import type { Logger } from '../../libs/log.js';
import type { FileSource } from '../../libs/plugin/context.js';
import type { PluginClass } from '../../libs/plugin/plugin.js';
import { loadRegistry } from '../../libs/plugin/registry.js';
import { LeastConfidenceRanker } from '../../models/rankers/least-confidence.js';
import type { RunningService } from '../../libs/service/runtime.js';
import { startController } from '../../services/controller/main.js';
import { JobRunner } from '../../services/controller/orchestration/runner.js';
import { jobStarter } from '../../services/controller/orchestration/starter.js';
import { WorkerPool } from '../../services/controller/orchestration/worker-pool.js';
import { CONTROLLER_MIGRATIONS } from '../../services/controller/schema/index.js';
import type { StateStore } from '../../services/controller/store/model-states.js';
import { startRanker } from '../../services/ranker/main.js';
import { startWorker } from '../../services/worker/main.js';
import { logger as silentLogger, testAuth } from '../controller/harness.js';
import { FixtureModel, FixtureSegmentationModel } from './fixture-model.js';
import { databaseTargets, withTestSchema } from './postgres.js';
import { tempStateStore } from './state-store.js';

export type ControllerClient = Client<typeof ControllerServiceService>;

export interface OrchestratedController {
  client: ControllerClient;
  db: import('pg').Pool;
  /** The same pool with the states' folder, shared by the runner and the controller. */
  states: StateStore;
  /** The progress bus the runner publishes to (keeps a job's events for late watchers). */
  bus: MemoryBus;
  /** The workers' addresses, for calling them by hand. */
  workers: string[];
  /** Stops the job runner as a crash would (its jobs keep their leases) and starts another with the same owner. */
  restartRunner(): Promise<void>;
  /** Stops the job runner; restartRunner() starts one again. */
  stopRunner(): Promise<void>;
  /** The job's events until it ends. */
  finish(project: string, jobId: string): Promise<ProgressEvent[]>;
}

const settings = (env: Record<string, string>) => Config.load({ text: '', env: { AIDE_SECURITY_PLAINTEXT: 'true', ...env } });

/**
 * `withRanker`: a Ranker service (with builtin.least_confidence) for ranking jobs; `fileSource`: the workers' files
 * (default none); `logger`: where every service logs (default: nowhere); `plugins`: more models and rankers to register.
 */
export async function startOrchestratedController(
  t: TestContext, opts: { withRanker?: boolean; fileSource?: (project: string) => FileSource; logger?: Logger; plugins?: readonly PluginClass[] } = {},
): Promise<OrchestratedController | undefined> {
  const logger = opts.logger ?? silentLogger;
  const targets = await databaseTargets();
  const database = await withTestSchema(t, targets.find((x) => !x.unavailable)!);
  if (!database) return undefined;
  await migrate(database.pool, CONTROLLER_MIGRATIONS);
  const states = await tempStateStore(t, database.pool);
  const bus = new MemoryBus();
  const registry = await loadRegistry({ builtins: [FixtureModel, FixtureSegmentationModel, LeastConfidenceRanker, ...(opts.plugins ?? [])], logger });
  const workers: RunningService[] = await Promise.all(['w1', 'w2'].map((id) => startWorker(settings({
    AIDE_AIWORKER_HOST: '127.0.0.1', AIDE_AIWORKER_PORT: '0', AIDE_AIWORKER_BACKEND: 'cpu', AIDE_AIWORKER_WORKER_ID: id,
  }), logger, { registry, bus, fileSource: opts.fileSource })));
  const pool = new WorkerPool({ staticAddresses: workers.map((w) => w.addresses.grpc!), refreshMs: 60_000, logger });
  await pool.start();
  const rankerService = opts.withRanker ? await startRanker(settings({ AIDE_RANKER_HOST: '127.0.0.1', AIDE_RANKER_PORT: '0' }), logger, { registry }) : undefined;
  const ranker = createClient(RankerServiceService, rankerService?.address ?? 'unix:/nonexistent-ranker');
  const newRunner = () => new JobRunner(
    { db: database.pool, states, bus, logger, workers: pool, ranker, registry, maxAttempts: 2 },
    { owner: 'orchestrated-test', leaseMs: 30_000, pollMs: 50, maxActive: 2 },
  );
  let runner = newRunner();
  await runner.start();
  const controller = await startController(settings({ AIDE_AICONTROLLER_HOST: '127.0.0.1', AIDE_AICONTROLLER_PORT: '0' }), logger, {
    database, bus, registry, middleware: [testAuth], stateBlobs: states.blobs,
    // The runner may be replaced: always the one running now.
    jobs: { ...jobStarter(database.pool, { wake: () => runner.wake() }), cancelRequested: (jobId) => runner.cancel(jobId) },
  });
  const metadata = new grpc.Metadata();
  metadata.set('x-test-peer', '1');
  const client = createClient(ControllerServiceService, controller.address, { metadata });
  let running = true;
  const stopRunner = async () => {
    if (running) await runner.stop();
    running = false;
  };
  t.after(async () => {
    client.close();
    await stopRunner();
    await controller.shutdown(1000);
    pool.stop();
    ranker.close();
    await rankerService?.shutdown(1000);
    await Promise.all(workers.map((w) => w.shutdown(1000)));
    await bus.close();
  });
  return {
    client, db: database.pool, states, bus, workers: workers.map((w) => w.addresses.grpc!),
    stopRunner,
    async restartRunner() {
      await stopRunner();
      runner = newRunner();
      await runner.start();
      running = true;
    },
    async finish(project, jobId) {
      const events: ProgressEvent[] = [];
      for await (const { event } of client.watchJob({ project, id: jobId })) {
        if (event) events.push(event);
      }
      return events;
    },
  };
}

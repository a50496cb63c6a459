import { hostname } from 'node:os';
import type pg from 'pg';
import type { Config } from '../../../libs/config/config.js';
import type { EventBus } from '../../../libs/bus/index.js';
import { RankerServiceService } from '../../../libs/gen/aide/v1/ranker.js';
import { createClient } from '../../../libs/grpc/index.js';
import type { Logger } from '../../../libs/log.js';
import type { Registry } from '../../../libs/plugin/registry.js';
import { meshClientOptions } from '../../../libs/service/mesh-access.js';
import { listSetting } from '../../../libs/service/settings.js';
import type { JobStarter } from '../ports.js';
import type { StateStore } from '../store/model-states.js';
import { maybeAutoTrain } from './auto-train.js';
import { JobRunner } from './runner.js';
import { jobStarter } from './starter.js';
import { WorkerPool } from './worker-pool.js';

const SECTION = 'AIController';

export interface Orchestration {
  starter: JobStarter;
  /** Call after annotations were written: may start an auto-training workflow. */
  annotationsWritten(project: string): Promise<void>;
  /** Stops a job running in this controller now (the jobs table has the cancel flag already). */
  cancelRunning(jobId: string): void;
  workers: WorkerPool;
  stop(): Promise<void>;
}

/** Workers (static list and DNS), the Ranker, and the job runner, from [AIController] settings. */
export async function startOrchestration(config: Config, deps: { db: pg.Pool; states: StateStore; bus: EventBus; registry: Registry; logger: Logger }): Promise<Orchestration> {
  const mesh = meshClientOptions(config);
  const workers = new WorkerPool({
    staticAddresses: listSetting(config, SECTION, 'workers'),
    dns: config.getProperty(SECTION, 'workers_dns', 'str', '') || undefined,
    refreshMs: config.getProperty(SECTION, 'workers_resolve_interval_s', 'float', 30) * 1000,
    retryMs: config.getProperty(SECTION, 'workers_retry_s', 'float', 2) * 1000,
    client: mesh,
    logger: deps.logger,
  });
  await workers.start();
  const ranker = createClient(RankerServiceService, config.getProperty(SECTION, 'ranker', 'str', '') || 'unix:/nonexistent-ranker', mesh);
  const runner = new JobRunner(
    { db: deps.db, states: deps.states, bus: deps.bus, logger: deps.logger, workers, ranker, registry: deps.registry, maxAttempts: config.getProperty(SECTION, 'max_attempts', 'int', 3) },
    {
      owner: config.getProperty(SECTION, 'controller_id', 'str', '') || hostname(),
      leaseMs: config.getProperty(SECTION, 'lease_s', 'float', 15) * 1000,
      pollMs: 1000,
      maxActive: config.getProperty(SECTION, 'max_active_jobs', 'int', 4),
    },
  );
  await runner.start();
  return {
    starter: jobStarter(deps.db, runner),
    async annotationsWritten(project) {
      if (await maybeAutoTrain(deps.db, project)) runner.wake();
    },
    cancelRunning: (jobId) => runner.cancel(jobId),
    workers,
    async stop() {
      await runner.stop();
      workers.stop();
      ranker.close();
    },
  };
}

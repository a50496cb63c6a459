import type pg from 'pg';
import type { EventBus } from '../../../libs/bus/index.js';
import type { RankerServiceService } from '../../../libs/gen/aide/v1/ranker.js';
import type { Client } from '../../../libs/grpc/index.js';
import type { Logger } from '../../../libs/log.js';
import type { ProgressReporter } from '../../../libs/progress/reporter.js';
import type { Registry } from '../../../libs/plugin/registry.js';
import type { Job, Project } from '../domain.js';
import type { StateStore } from '../store/model-states.js';
import type { WorkerPool } from './worker-pool.js';

/** What every job executor works with, for the life of the controller. */
export interface Orchestra {
  db: pg.Pool;
  /** The same pool, with the folder of the states' bytes. */
  states: StateStore;
  bus: EventBus;
  logger: Logger;
  workers: WorkerPool;
  ranker: Client<typeof RankerServiceService>;
  registry: Registry;
  /** Workers tried per shard before a job fails. */
  maxAttempts: number;
}

/** One run of one job. */
export interface JobRun {
  job: Job;
  project: Project;
  signal: AbortSignal;
  progress: ProgressReporter;
  /** Marks the job SUCCEEDED inside the caller's transaction, so results and completion land together. */
  succeed(client: pg.PoolClient, message: string): Promise<void>;
}

import type pg from 'pg';
import type { Job, JobKind } from '../domain.js';
import type { JobOptions, JobStarter } from '../ports.js';
import { createJob } from '../store/jobs.js';
import type { JobRunner } from './runner.js';

/** The API's way to queue a job: a row in the jobs table, then a nudge to the runner. */
export function jobStarter(db: pg.Pool, runner: Pick<JobRunner, 'wake'>): JobStarter {
  return {
    async start(kind: JobKind, project: string, options: JobOptions): Promise<Job> {
      const job = await createJob(db, { project, kind, options: { ...options } });
      runner.wake();
      return job;
    },
  };
}

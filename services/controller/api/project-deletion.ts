/**
 * DeleteProject: the project's jobs are stopped before its rows go, so no job
 * writes into a project that no longer exists (no foreign-key errors, no
 * half-written results).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { unavailable } from '../../../libs/errors.js';
import { inTransaction } from '../store/db.js';
import { cancelProjectJobs } from '../store/jobs.js';
import { deleteProject, lockProject } from '../store/projects.js';
import { reapDeletedBlobs } from '../store/state-blobs.js';
import type { ControllerDeps } from './deps.js';
import { announceCancelled } from './job-cancel.js';

/** How often the project's running jobs are looked at while they stop. */
const POLL_MS = 100;
/** How long DeleteProject waits for them; then UNAVAILABLE, the cancels stay asked for and a retry finishes the job. */
const STOP_WAIT_MS = 60_000;

/**
 * Cancels the project's queued jobs and asks its running ones to stop (their
 * runner, here or in another controller, ends them at the next batch), then
 * deletes the project once none runs under a live lease. Each round holds the
 * project row locked, so no job can be created in between (its foreign key
 * waits for the lock, then finds no project).
 */
export async function deleteProjectAndJobs(deps: Pick<ControllerDeps, 'pool' | 'states' | 'bus' | 'jobs' | 'logger'>, project: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + STOP_WAIT_MS;
  for (;;) {
    const { cancelled, stopping } = await inTransaction(deps.pool, async (client) => {
      await lockProject(client, project);
      const jobs = await cancelProjectJobs(client, project);
      if (jobs.stopping.length === 0) await deleteProject(client, project);
      return jobs;
    });
    await Promise.all(cancelled.map((job) => announceCancelled(deps, job, 'cancelled: the project was deleted')));
    if (stopping.length === 0) {
      await reapDeletedBlobs(deps.states); // the states' files go with their rows
      return;
    }
    for (const job of stopping) deps.jobs.cancelRequested?.(job.id);
    if (Date.now() >= deadline) {
      throw unavailable(`project '${project}' was not deleted: ${stopping.length} of its jobs are still stopping (asked to cancel); try again`);
    }
    await sleep(POLL_MS, undefined, { signal });
  }
}

import type pg from 'pg';
import type { Job } from '../domain.js';
import { inTransaction } from '../store/db.js';
import { createJob } from '../store/jobs.js';
import { lockProject, resetAnnotationsSinceTraining } from '../store/projects.js';

/**
 * After annotations were written: when the project's auto-train policy says
 * enough new ones arrived, a train → inference → rank workflow starts by
 * itself. The project row lock serializes concurrent writers, and the counter
 * is reset with the start, so one threshold crossing starts exactly one
 * workflow, and never one while another of the project is queued or running.
 */
export async function maybeAutoTrain(db: pg.Pool, project: string): Promise<Job | undefined> {
  return inTransaction(db, async (client) => {
    const p = await lockProject(client, project);
    const policy = p.settings.autoTrain;
    if (!policy.enabled || p.annotationsSinceTraining < Math.max(1, policy.minNewAnnotations)) return undefined;
    const { rows } = await client.query(
      `SELECT 1 FROM jobs WHERE project = $1 AND kind = 'workflow' AND state IN ('queued', 'running') LIMIT 1`, [project]);
    if (rows.length > 0) return undefined;
    await resetAnnotationsSinceTraining(client, project);
    return createJob(client, {
      project, kind: 'workflow',
      options: { auto: true, num_workers: Math.max(1, policy.numWorkers), num_epochs: Math.max(1, policy.numEpochs) },
    });
  });
}

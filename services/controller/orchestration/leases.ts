/**
 * The jobs table is the truth: a controller runs a job only while it holds its
 * lease. A controller that dies stops renewing; another (or itself after a
 * restart) claims the job again once the lease expired.
 */
import type pg from 'pg';
import type { Job } from '../domain.js';
import { getJob } from '../store/jobs.js';

/**
 * Claims the oldest runnable top-level job: QUEUED, or RUNNING with an expired
 * lease (its controller died). Workflow steps run inside their workflow.
 */
export async function claimJob(db: pg.Pool, owner: string, leaseMs: number): Promise<Job | undefined> {
  const { rows } = await db.query<{ id: string; project: string }>(
    `UPDATE jobs SET state = 'running', lease_owner = $1, lease_expires_at = now() + make_interval(secs => $2::float8 / 1000),
       started_at = coalesce(started_at, now()), attempts = attempts + 1
     WHERE id = (
       SELECT id FROM jobs
       WHERE parent_id IS NULL AND NOT cancel_requested
         AND (state = 'queued' OR (state = 'running' AND lease_expires_at < now()))
       ORDER BY created_at, id
       FOR UPDATE SKIP LOCKED LIMIT 1)
     RETURNING id, project`,
    [owner, leaseMs],
  );
  return rows[0] ? getJob(db, rows[0].project, rows[0].id) : undefined;
}

export type LeaseStatus = 'held' | 'lost' | 'cancel-requested';

/** Extends the lease; tells whether it is still ours and whether a cancel was asked for. */
export async function renewLease(db: pg.Pool, jobId: string, owner: string, leaseMs: number): Promise<LeaseStatus> {
  const { rows } = await db.query<{ cancel_requested: boolean }>(
    `UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $3::float8 / 1000)
     WHERE id = $1 AND lease_owner = $2 AND state = 'running' RETURNING cancel_requested`,
    [jobId, owner, leaseMs],
  );
  if (!rows[0]) return 'lost';
  return rows[0].cancel_requested ? 'cancel-requested' : 'held';
}

/** Running jobs asked to cancel whose controller died: nobody will run them again, so they end CANCELLED. */
export async function settleAbandonedCancels(db: pg.Pool): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE jobs SET state = 'cancelled', finished_at = now() WHERE state = 'running' AND cancel_requested AND lease_expires_at < now()`);
  return rowCount ?? 0;
}

/**
 * Marks the job SUCCEEDED inside the caller's transaction — only while this
 * controller still holds its lease, so a job taken over by another controller
 * never stores its results twice (the transaction rolls back instead).
 */
export async function completeJob(client: pg.PoolClient, jobId: string, owner: string, message: string): Promise<void> {
  const { rowCount } = await client.query(
    `UPDATE jobs SET state = 'succeeded', message = $3, finished_at = now(), lease_owner = NULL, lease_expires_at = NULL
     WHERE id = $1 AND lease_owner = $2 AND state = 'running'`, [jobId, owner, message]);
  if (rowCount !== 1) throw new LeaseLostError(jobId);
}

/** Ends a job this controller holds as FAILED or CANCELLED. */
export async function endJob(db: pg.Pool, jobId: string, owner: string, state: 'failed' | 'cancelled', error: string): Promise<void> {
  await db.query(
    `UPDATE jobs SET state = $3, error = $4, message = $4, finished_at = now(), lease_owner = NULL, lease_expires_at = NULL
     WHERE id = $1 AND lease_owner = $2 AND state = 'running'`, [jobId, owner, state, error]);
}

/** After a restart, jobs this controller (same id) held are taken up again at once instead of after their lease. */
export async function expireOwnLeases(db: pg.Pool, owner: string): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE jobs SET lease_expires_at = now() - interval '1 second' WHERE state = 'running' AND lease_owner = $1`, [owner]);
  return rowCount ?? 0;
}

export class LeaseLostError extends Error {
  constructor(jobId: string) {
    super(`lease of job ${jobId} lost: another controller runs it`);
    this.name = 'LeaseLostError';
  }
}

/** Tells waiting jobs why they wait (shown by GetJob / ListJobs). */
export async function noteQueued(db: pg.Pool, message: string): Promise<void> {
  await db.query(`UPDATE jobs SET message = $1 WHERE state = 'queued' AND message <> $1`, [message]);
}

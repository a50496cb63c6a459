import { notFound } from '../../../libs/errors.js';
import type { Job, JobKind, JobPatch, JobState, NewJob, PageQuery } from '../domain.js';
import { type Db, int } from './db.js';

interface JobRow {
  id: string;
  project: string;
  kind: JobKind;
  state: JobState;
  done: string;
  total: string;
  message: string;
  options: Record<string, unknown>;
  worker: string;
  attempts: number;
  error: string;
  parent_id: string | null;
  step_index: number | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  cancel_requested: boolean;
  lease_owner: string | null;
  lease_expires_at: Date | null;
}

const toJob = (r: JobRow): Job => ({
  id: r.id,
  project: r.project,
  kind: r.kind,
  state: r.state,
  done: int(r.done),
  total: int(r.total),
  message: r.message,
  options: r.options,
  worker: r.worker,
  attempts: r.attempts,
  error: r.error,
  parentId: r.parent_id,
  stepIndex: r.step_index,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  cancelRequested: r.cancel_requested,
  leaseOwner: r.lease_owner,
  leaseExpiresAt: r.lease_expires_at,
});

export async function createJob(db: Db, job: NewJob): Promise<Job> {
  const { rows } = await db.query<JobRow>(
    `INSERT INTO jobs (project, kind, state, options, parent_id, step_index, total)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [job.project, job.kind, job.state ?? 'queued', JSON.stringify(job.options), job.parentId ?? null, job.stepIndex ?? null, job.total ?? 0],
  );
  return toJob(rows[0]!);
}

/**
 * Asks every unfinished job of the project to stop: queued ones end
 * CANCELLED here, running ones are marked cancel_requested for their runner.
 * Returns the jobs cancelled while queued, and the running ones whose
 * runner still holds a live lease (and so may still write).
 */
export async function cancelProjectJobs(db: Db, project: string): Promise<{ cancelled: Job[]; stopping: Job[] }> {
  const { rows } = await db.query<JobRow & { live: boolean }>(
    `UPDATE jobs SET cancel_requested = true,
       state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
       finished_at = CASE WHEN state = 'queued' THEN now() ELSE finished_at END,
       message = CASE WHEN state = 'queued' THEN 'cancelled: the project is being deleted' ELSE message END
     WHERE project = $1 AND state IN ('queued', 'running')
     RETURNING *, (state = 'running' AND coalesce(lease_expires_at > now(), false)) AS live`, [project]);
  return { cancelled: rows.filter((r) => r.state === 'cancelled').map(toJob), stopping: rows.filter((r) => r.live).map(toJob) };
}

/** The project's job, or NOT_FOUND. */
export async function getJob(db: Db, project: string, id: string): Promise<Job> {
  const { rows } = await db.query<JobRow>('SELECT * FROM jobs WHERE project = $1 AND id = $2', [project, id]);
  if (!rows[0]) throw notFound(`job ${id}`);
  return toJob(rows[0]);
}

/** The steps of a workflow job, in order. */
export async function jobSteps(db: Db, project: string, workflowId: string): Promise<Job[]> {
  const { rows } = await db.query<JobRow>(
    'SELECT * FROM jobs WHERE project = $1 AND parent_id = $2 ORDER BY step_index, created_at', [project, workflowId]);
  return rows.map(toJob);
}

export interface JobFilter {
  project: string;
  state?: JobState;
  kind?: JobKind;
}

/** Newest first; the page cursor is "<created_at ISO>|<id>" of the last job seen. */
export async function listJobs(db: Db, filter: JobFilter, page: PageQuery): Promise<Job[]> {
  const [afterTime, afterId] = page.after ? page.after.split('|') : [null, null];
  const { rows } = await db.query<JobRow>(
    `SELECT * FROM jobs
     WHERE project = $1 AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR kind = $3)
       AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
     ORDER BY created_at DESC, id DESC LIMIT $6`,
    [filter.project, filter.state ?? null, filter.kind ?? null, afterTime, afterId, page.limit],
  );
  return rows.map(toJob);
}

export const jobCursor = (job: Job): string => `${job.createdAt.toISOString()}|${job.id}`;

const PATCH_COLUMNS: Record<keyof JobPatch, string> = {
  state: 'state', done: 'done', total: 'total', message: 'message', options: 'options', worker: 'worker',
  attempts: 'attempts', error: 'error', startedAt: 'started_at', finishedAt: 'finished_at',
  cancelRequested: 'cancel_requested', leaseOwner: 'lease_owner', leaseExpiresAt: 'lease_expires_at',
};

/** Changes the given fields of a job (by id: the orchestrator owns it). */
export async function updateJob(db: Db, id: string, patch: JobPatch): Promise<Job> {
  const keys = (Object.keys(patch) as (keyof JobPatch)[]).filter((k) => patch[k] !== undefined);
  const values = keys.map((k) => (k === 'options' ? JSON.stringify(patch.options) : patch[k]));
  const sets = keys.map((k, i) => `${PATCH_COLUMNS[k]} = $${i + 2}`);
  const { rows } = sets.length === 0
    ? await db.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id])
    : await db.query<JobRow>(`UPDATE jobs SET ${sets.join(', ')} WHERE id = $1 RETURNING *`, [id, ...values]);
  if (!rows[0]) throw notFound(`job ${id}`);
  return toJob(rows[0]);
}

/**
 * A progress report on the job row: its counters, and its message while it
 * runs — a report that lands after the job ended (progress is recorded
 * asynchronously) leaves the end's message (result or error) as it is.
 */
export async function recordProgress(db: Db, id: string, p: { done: number; total: number; message: string }): Promise<void> {
  await db.query(
    `UPDATE jobs SET done = $2, total = $3, message = CASE WHEN state IN ('queued', 'running') THEN $4 ELSE message END WHERE id = $1`,
    [id, p.done, p.total, p.message]);
}

/**
 * Asks a job to stop: flags it for the orchestrator; a job still QUEUED is
 * CANCELLED at once (no worker has it). A finished job stays as it is.
 */
export async function requestCancel(db: Db, project: string, id: string): Promise<Job> {
  const { rows } = await db.query<JobRow>(
    `UPDATE jobs SET cancel_requested = state IN ('queued', 'running'),
       state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
       finished_at = CASE WHEN state = 'queued' THEN now() ELSE finished_at END
     WHERE project = $1 AND id = $2 RETURNING *`, [project, id]);
  if (!rows[0]) throw notFound(`job ${id}`);
  return toJob(rows[0]);
}

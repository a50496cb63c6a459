import type { JobEvent } from '../domain.js';
import type { Db } from './db.js';

/**
 * Persists one progress event for replay; a repeated seq is ignored
 * (idempotent). The last events of a job whose project was deleted as it
 * stopped (DeleteProject) have no job left to belong to: the row lock orders
 * the insert after such a delete, which then inserts nothing instead of
 * failing on the foreign key.
 */
export async function appendJobEvent(db: Db, jobId: string, event: JobEvent): Promise<void> {
  const { seq, time, ...rest } = event;
  await db.query(
    `INSERT INTO job_events (job_id, seq, event, time)
     SELECT id, $2::bigint, $3::jsonb, $4::timestamptz FROM jobs WHERE id = $1 FOR KEY SHARE
     ON CONFLICT (job_id, seq) DO NOTHING`,
    [jobId, seq, JSON.stringify(rest), time],
  );
}

/** The job's persisted events in order. */
export async function jobEvents(db: Db, jobId: string): Promise<JobEvent[]> {
  const { rows } = await db.query<{ seq: string; event: Omit<JobEvent, 'seq' | 'time'>; time: Date }>(
    'SELECT seq, event, time FROM job_events WHERE job_id = $1 ORDER BY seq', [jobId]);
  return rows.map((r) => ({ ...r.event, seq: Number(r.seq), time: r.time }));
}

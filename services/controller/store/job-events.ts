import type { JobEvent } from '../domain.js';
import type { Db } from './db.js';

/** Persists one progress event for replay; a repeated seq is ignored (idempotent). */
export async function appendJobEvent(db: Db, jobId: string, event: JobEvent): Promise<void> {
  const { seq, time, ...rest } = event;
  await db.query(
    'INSERT INTO job_events (job_id, seq, event, time) VALUES ($1, $2, $3, $4) ON CONFLICT (job_id, seq) DO NOTHING',
    [jobId, seq, JSON.stringify(rest), time],
  );
}

/** The job's persisted events in order. */
export async function jobEvents(db: Db, jobId: string): Promise<JobEvent[]> {
  const { rows } = await db.query<{ seq: string; event: Omit<JobEvent, 'seq' | 'time'>; time: Date }>(
    'SELECT seq, event, time FROM job_events WHERE job_id = $1 ORDER BY seq', [jobId]);
  return rows.map((r) => ({ ...r.event, seq: Number(r.seq), time: r.time }));
}

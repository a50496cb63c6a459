import type { JobEvent } from '../domain.js';
import type { Db } from './db.js';

/**
 * Persists a job's progress events for replay, in one statement; a repeated seq is ignored (idempotent).
 * The last events of a job whose project was deleted as it stopped (DeleteProject) have no job left to
 * belong to: the row lock orders the insert after such a delete, which then inserts nothing instead of
 * failing on the foreign key.
 */
export async function appendJobEvents(db: Db, jobId: string, events: readonly JobEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.query(
    `INSERT INTO job_events (job_id, seq, event, time)
     SELECT j.id, e.seq, e.event, e.time
     FROM (SELECT id FROM jobs WHERE id = $1 FOR KEY SHARE) j,
          unnest($2::bigint[], $3::jsonb[], $4::timestamptz[]) AS e(seq, event, time)
     ON CONFLICT (job_id, seq) DO NOTHING`,
    [jobId, events.map((e) => e.seq), events.map(({ seq, time, ...rest }) => JSON.stringify(rest)), events.map((e) => e.time)],
  );
}

/** The job's persisted events in order; with `afterSeq`, only those after it (a watcher catching up). */
export async function jobEvents(db: Db, jobId: string, afterSeq = 0): Promise<JobEvent[]> {
  const { rows } = await db.query<{ seq: string; event: Omit<JobEvent, 'seq' | 'time'>; time: Date }>(
    'SELECT seq, event, time FROM job_events WHERE job_id = $1 AND seq > $2 ORDER BY seq', [jobId, afterSeq]);
  return rows.map((r) => ({ ...r.event, seq: Number(r.seq), time: r.time }));
}

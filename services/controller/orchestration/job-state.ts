import type pg from 'pg';
import type { Job, ModelStateInfo } from '../domain.js';
import { currentState, getState, useState } from '../store/model-states.js';

/**
 * The state a job reads: the one its options name (chosen at its start, or
 * recorded by an earlier run of it), else the project's current one.
 * Recorded in the job, so a resumed run reads the same state and nobody can
 * delete it while the job runs.
 */
export async function jobState(db: pg.Pool, job: Job): Promise<ModelStateInfo | null> {
  const named = (job.options as { state_id?: string }).state_id;
  const state = named ? await getState(db, job.project, named) : await currentState(db, job.project);
  return state && useState(db, job.id, job.project, state.id);
}


import type pg from 'pg';
import type { Job, JobKind } from '../domain.js';
import { createJob, jobSteps, updateJob } from '../store/jobs.js';
import type { JobRun, Orchestra } from './context.js';
import { inTransaction } from '../store/db.js';

export type StepKind = Exclude<JobKind, 'workflow' | 'average'>;
export interface WorkflowStep { kind: StepKind; num_workers: number; num_epochs: number; from_scratch?: boolean }
export type Executor = (orchestra: Orchestra, run: JobRun) => Promise<void>;

export const DEFAULT_STEPS: readonly StepKind[] = ['train', 'inference', 'rank'];

/** Units of a workflow's bar per step: step i of n with its child at fraction f shows (i + f) · STEP_UNITS of n · STEP_UNITS. */
export const STEP_UNITS = 1000;

/**
 * A workflow runs its steps in order as child jobs. A step that already
 * succeeded (a run before a controller restart) is not run again; a failed
 * step fails the workflow, naming the step. Its progress is one bar over all
 * steps (the children count different things: images, batches, shards).
 */
export async function executeWorkflow(orchestra: Orchestra, run: JobRun, executors: Record<StepKind, Executor>): Promise<void> {
  const { job, signal } = run;
  const options = job.options as { steps?: WorkflowStep[]; num_workers?: number; num_epochs?: number };
  const steps: WorkflowStep[] = options.steps && options.steps.length > 0
    ? options.steps
    : DEFAULT_STEPS.map((kind) => ({ kind, num_workers: options.num_workers ?? 1, num_epochs: options.num_epochs ?? 1 }));
  const existing = await jobSteps(orchestra.db, job.project, job.id);
  for (const [i, step] of steps.entries()) {
    signal.throwIfAborted();
    const label = `step ${i + 1}/${steps.length} (${step.kind})`;
    let child: Job | undefined = existing.find((s) => s.stepIndex === i);
    if (child?.state === 'succeeded') continue;
    child ??= await createJob(orchestra.db, {
      project: job.project, kind: step.kind, parentId: job.id, stepIndex: i,
      options: { num_workers: step.num_workers, num_epochs: step.num_epochs, ...(step.from_scratch ? { from_scratch: true } : {}) },
    });
    child = await updateJob(orchestra.db, child.id, { state: 'running', startedAt: new Date(), attempts: child.attempts + 1, error: '' });
    const total = steps.length * STEP_UNITS;
    run.progress.updateState('PROGRESS', `${label}: started`, i * STEP_UNITS, total);
    try {
      await executors[step.kind](orchestra, {
        ...run,
        job: child,
        progress: {
          updateState: (state, message = '', done, childTotal) => {
            // A report without numbers (waiting for a worker) leaves the bar where it is.
            if (done === undefined && childTotal === undefined) return run.progress.updateState(state, `${label}: ${message}`);
            const fraction = childTotal ? Math.min((done ?? 0) / childTotal, 1) : 0;
            run.progress.updateState(state, `${label}: ${message}`, i * STEP_UNITS + Math.floor(fraction * STEP_UNITS), total);
          },
          report: () => {},
          flush: run.progress.flush,
        },
        succeed: async (client: pg.PoolClient, message: string) => {
          await updateJob(client, child!.id, { state: 'succeeded', message, finishedAt: new Date() });
        },
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      await updateJob(orchestra.db, child.id, { state: signal.aborted ? 'cancelled' : 'failed', error: message, message, finishedAt: new Date() });
      if (signal.aborted) throw err;
      throw new Error(`${label} failed: ${message}`);
    }
  }
  await inTransaction(orchestra.db, (client) => run.succeed(client, `${steps.length} steps done`));
}

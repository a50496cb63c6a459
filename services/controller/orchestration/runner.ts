import { PublishQueue } from '../../../libs/bus/index.js';
import { JobState } from '../../../libs/gen/aide/v1/common.js';
import { observeJob, type JobOutcome } from '../../../libs/telemetry/job-observer.js';
import type { Job, JobKind } from '../domain.js';
import { getJob } from '../store/jobs.js';
import { sweepPartialStates } from '../store/model-states.js';
import { getProject } from '../store/projects.js';
import type { JobRun, Orchestra } from './context.js';
import { executeInference } from './execute-inference.js';
import { executeRank } from './execute-rank.js';
import { executeTrain } from './execute-train.js';
import { executeWorkflow, type Executor } from './execute-workflow.js';
import { jobProgress } from './job-progress.js';
import { claimJob, completeJob, endJob, expireOwnLeases, LeaseLostError, noteQueued, renewLease, settleAbandonedCancels, type LeaseStatus } from './leases.js';

const STEP_EXECUTORS = { train: executeTrain, inference: executeInference, rank: executeRank };

const EXECUTORS: Record<JobKind, Executor> = {
  ...STEP_EXECUTORS,
  workflow: (orchestra, run) => executeWorkflow(orchestra, run, STEP_EXECUTORS),
  average: async () => { throw new Error('averaging runs inside training jobs, not on its own'); },
};

export interface RunnerSettings {
  /** Stable id of this controller: after a restart it takes its own jobs back at once. */
  owner: string;
  leaseMs: number;
  pollMs: number;
  /** Jobs this controller runs at once. */
  maxActive: number;
}

/**
 * Runs the jobs of the jobs table: claims one under a lease, renews the lease
 * while it runs (and learns of cancellation that way), and ends it. A job
 * whose controller died is claimed again when its lease expires.
 */
export class JobRunner {
  readonly #active = new Map<string, AbortController>();
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  /** Jobs' progress to the bus without waiting on it: a job runs at full speed while NATS is down. */
  readonly #publisher: PublishQueue;

  constructor(readonly orchestra: Orchestra, readonly settings: RunnerSettings) {
    this.#publisher = new PublishQueue(orchestra.bus, { logger: orchestra.logger });
  }

  async start(): Promise<void> {
    // Intermediate training states left by a controller that died just as their job ended.
    await sweepPartialStates(this.orchestra.db);
    const reclaimed = await expireOwnLeases(this.orchestra.db, this.settings.owner);
    if (reclaimed > 0) this.orchestra.logger.info({ reclaimed }, 'taking back jobs this controller ran before a restart');
    this.#loop = this.#run();
  }

  /** A job was queued: look now instead of at the next poll. */
  wake(): void {
    this.#wake?.();
  }

  /** Cancels a job running here at once (the lease renewal would find it too, a little later). */
  cancel(jobId: string): void {
    this.#active.get(jobId)?.abort(new Error('cancelled'));
  }

  /** Stops claiming; running jobs are abandoned to their lease (another controller, or this one restarted, resumes them). */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.wake();
    for (const c of this.#active.values()) c.abort(new LeaseLostError('shutdown'));
    await this.#loop;
    // Progress still queued for an unreachable bus gets a moment; job_events has it all.
    await this.#publisher.close(2000);
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      try {
        // Intermediate training states of jobs that ended while no controller ran them.
        if (await settleAbandonedCancels(this.orchestra.db) > 0) await sweepPartialStates(this.orchestra.db);
        // Without a reachable worker, jobs stay QUEUED (saying why) rather than fail.
        if (!this.orchestra.workers.snapshot().some((w) => w.healthy)) {
          await noteQueued(this.orchestra.db, 'waiting for a worker: none is reachable');
          await this.orchestra.workers.refresh();
        }
        while (!this.#stopping && this.#active.size < this.settings.maxActive && this.orchestra.workers.snapshot().some((w) => w.healthy)) {
          const job = await claimJob(this.orchestra.db, this.settings.owner, this.settings.leaseMs);
          if (!job) break;
          void observeJob(job, () => this.#execute(job));
        }
      } catch (err) {
        this.orchestra.logger.error({ err }, 'claiming jobs failed');
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.settings.pollMs);
        this.#wake = () => { clearTimeout(timer); resolve(); };
      });
    }
  }

  async #execute(job: Job): Promise<JobOutcome> {
    // Every line the job's executors log names the job.
    const orchestra: Orchestra = { ...this.orchestra, logger: this.orchestra.logger.child({ jobId: job.id, kind: job.kind }) };
    const { db, logger } = orchestra;
    const owner = this.settings.owner;
    const controller = new AbortController();
    this.#active.set(job.id, controller);
    const lease: { status: LeaseStatus } = { status: 'held' };
    const heartbeat = setInterval(() => {
      renewLease(db, job.id, owner, this.settings.leaseMs).then((status) => {
        lease.status = status;
        if (status !== 'held') controller.abort(status === 'lost' ? new LeaseLostError(job.id) : new Error('cancelled'));
      }, (err: unknown) => logger.warn({ err, jobId: job.id }, 'lease renewal failed'));
    }, Math.max(50, this.settings.leaseMs / 3));
    // Progress events carry the job span's trace context (observeJob runs this inside it).
    const progress = await jobProgress({ db, publisher: this.#publisher, logger, jobId: job.id, project: job.project });
    progress.report(JobState.JOB_STATE_RUNNING, job.attempts > 1 ? `resumed (attempt ${job.attempts})` : 'started');
    // A job that ended (not one left to its lease) leaves no intermediate training states behind, and says it
    // ended only once they are gone: whoever waits for the terminal event finds the project clean.
    const ended = async (state: JobState, message: string) => {
      await sweepPartialStates(db).catch((err: unknown) => logger.warn({ err, jobId: job.id }, 'sweeping partial states failed'));
      progress.report(state, message);
    };
    try {
      const run: JobRun = {
        job, project: await getProject(db, job.project), signal: controller.signal, progress,
        succeed: (client, message) => completeJob(client, job.id, owner, message),
      };
      await EXECUTORS[job.kind](orchestra, run);
      await ended(JobState.JOB_STATE_SUCCEEDED, (await getJob(db, job.project, job.id)).message);
      return 'succeeded';
    } catch (err) {
      if (lease.status === 'lost' || err instanceof LeaseLostError || this.#stopping) {
        logger.warn({ jobId: job.id }, 'job left to its lease');
        return 'abandoned';
      } else if (lease.status === 'cancel-requested' || controller.signal.aborted) {
        await endJob(db, job.id, owner, 'cancelled', 'cancelled');
        await ended(JobState.JOB_STATE_CANCELLED, 'cancelled');
        return 'cancelled';
      } else {
        const message = err instanceof Error ? err.message : String(err);
        logger.warn({ jobId: job.id, kind: job.kind, error: message }, 'job failed');
        await endJob(db, job.id, owner, 'failed', message);
        await ended(JobState.JOB_STATE_FAILED, message);
        return 'failed';
      }
    } finally {
      clearInterval(heartbeat);
      this.#active.delete(job.id);
      await progress.flushed();
      this.wake();
    }
  }
}

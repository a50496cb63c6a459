/** What the controller's API needs from the orchestrator (services/controller/orchestration/ implements it). */
import type { Job, JobKind } from './domain.js';

/** Options of a job as the API validated them; stored as the job's options. */
export interface JobOptions {
  /** Shards trained at once (train, workflow steps). */
  num_workers?: number;
  /** Federated-averaging rounds (train). */
  num_epochs?: number;
  /** Restrict to these images (train, inference). */
  image_ids?: string[];
  /** Inference: golden questions only. */
  golden_questions_only?: boolean;
  /** Inference without image_ids: the annotated images too. */
  include_annotated?: boolean;
  /**
   * The state the job reads: to predict from or rank (inference, rank; absent = the current one),
   * or to continue training from (train: recorded when it first runs). Such a state cannot be deleted while the job runs.
   */
  state_id?: string;
  /** Train: start from freshly initialised weights, not the current state. */
  from_scratch?: boolean;
  /** Workflow: its steps in order. */
  steps?: { kind: Exclude<JobKind, 'workflow' | 'average'>; num_workers: number; num_epochs: number; from_scratch?: boolean }[];
}

export interface JobStarter {
  /** Queues a job of the project and returns it (QUEUED); the orchestrator runs it. */
  start(kind: JobKind, project: string, options: JobOptions): Promise<Job>;
  /** Annotations were written: the project's auto-train policy may start a workflow. */
  annotationsWritten?(project: string): Promise<void>;
  /** A cancel was recorded for a running job: stop it now if it runs in this controller. */
  cancelRequested?(jobId: string): void;
}

/** Jobs, their kinds and states, and progress events ⇄ aide.v1. */
import { JobKind as ProtoKind, JobState as ProtoState, type Job as ProtoJob, type ProgressEvent } from '../../../libs/gen/aide/v1/common.js';
import type { Job, JobEvent, JobKind, JobState } from '../domain.js';

const KINDS: Record<JobKind, ProtoKind> = {
  train: ProtoKind.JOB_KIND_TRAIN,
  inference: ProtoKind.JOB_KIND_INFERENCE,
  rank: ProtoKind.JOB_KIND_RANK,
  average: ProtoKind.JOB_KIND_AVERAGE,
  workflow: ProtoKind.JOB_KIND_WORKFLOW,
};

const STATES: Record<JobState, ProtoState> = {
  queued: ProtoState.JOB_STATE_QUEUED,
  running: ProtoState.JOB_STATE_RUNNING,
  succeeded: ProtoState.JOB_STATE_SUCCEEDED,
  failed: ProtoState.JOB_STATE_FAILED,
  cancelled: ProtoState.JOB_STATE_CANCELLED,
};

const reverse = <K extends string, V>(map: Record<K, V>) => (v: V): K | undefined =>
  (Object.keys(map) as K[]).find((k) => map[k] === v);

export const jobKindToProto = (k: JobKind): ProtoKind => KINDS[k];
export const jobStateToProto = (s: JobState): ProtoState => STATES[s];
/** undefined for UNSPECIFIED and unknown values. */
export const jobKindFromProto = reverse(KINDS);
export const jobStateFromProto = reverse(STATES);

export const jobToProto = (j: Job): ProtoJob => ({
  id: j.id,
  project: j.project,
  kind: KINDS[j.kind],
  state: STATES[j.state],
  done: j.done,
  total: j.total,
  message: j.message,
  createdAt: j.createdAt,
  startedAt: j.startedAt ?? undefined,
  finishedAt: j.finishedAt ?? undefined,
  worker: j.worker,
  parentId: j.parentId ?? '',
  attempts: j.attempts,
  error: j.error,
  optionsJson: JSON.stringify(j.options),
});

export const jobEventToProto = (project: string, jobId: string, e: JobEvent): ProgressEvent => ({
  jobId,
  project,
  workerId: e.workerId,
  state: STATES[e.state],
  modelState: e.modelState,
  message: e.message,
  done: e.done,
  total: e.total,
  time: e.time,
  seq: e.seq,
});

/** A bus event as persisted for replay (events of unknown state are not persisted). */
export function jobEventFromProto(e: ProgressEvent): JobEvent | undefined {
  const state = jobStateFromProto(e.state);
  if (!state) return undefined;
  return { seq: e.seq, state, modelState: e.modelState, message: e.message, done: e.done, total: e.total, workerId: e.workerId, time: e.time ?? new Date() };
}

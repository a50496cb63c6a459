import { JobState } from '../../../libs/gen/aide/v1/common.js';
import type { WatchJobResponse } from '../../../libs/gen/aide/v1/controller.js';
import { appendJobEvents, jobEvents } from '../store/job-events.js';
import * as store from '../store/jobs.js';
import { getProject } from '../store/projects.js';
import { jobEventFromProto, jobKindFromProto, jobStateFromProto, jobToProto } from '../wire/job.js';
import type { Job } from '../domain.js';
import type { ControllerDeps, ControllerHandlers } from './deps.js';
import { id } from './fields.js';
import { inferenceOptions, rankingOptions, trainingOptions, workflowOptions } from './job-requests.js';
import { watchJob } from './job-watch.js';
import { paginate } from './paging.js';

export function jobHandlers(deps: ControllerDeps): Pick<ControllerHandlers,
  'startTraining' | 'startInference' | 'startRanking' | 'startWorkflow' | 'listJobs' | 'getJob' | 'watchJob' | 'cancelJob'> {
  const { pool, bus, jobs } = deps;

  /** A job cancelled while queued never reaches a worker: its watchers get the terminal event from here. */
  const announceCancelled = async (job: Job) => {
    const seq = ((await jobEvents(pool, job.id)).at(-1)?.seq ?? 0) + 1;
    const event = { jobId: job.id, project: job.project, workerId: '', state: JobState.JOB_STATE_CANCELLED, modelState: '', message: 'cancelled while queued', done: job.done, total: job.total, time: new Date(), seq };
    await appendJobEvents(pool, job.id, [jobEventFromProto(event)!]);
    // The cancel is done and logged; watchers read the log while the bus is unreachable, so it is not waited on.
    bus.publish(event).catch((err: unknown) => deps.logger.warn({ err, jobId: job.id }, 'cancel event not published'));
  };

  return {
    async startTraining(req) {
      return { job: jobToProto(await jobs.start('train', req.project, await trainingOptions(pool, req))) };
    },

    async startInference(req) {
      return { job: jobToProto(await jobs.start('inference', req.project, await inferenceOptions(pool, req))) };
    },

    async startRanking(req) {
      return { job: jobToProto(await jobs.start('rank', req.project, await rankingOptions(pool, req))) };
    },

    async startWorkflow(req) {
      return { job: jobToProto(await jobs.start('workflow', req.project, await workflowOptions(pool, req))) };
    },

    async listJobs(req) {
      await getProject(pool, req.project);
      const filter = { project: req.project, state: jobStateFromProto(req.state), kind: jobKindFromProto(req.kind) };
      const page = await paginate(req, `jobs:${JSON.stringify(filter)}`, (p) => store.listJobs(pool, filter, p), store.jobCursor);
      return { jobs: page.items.map(jobToProto), nextPageToken: page.nextPageToken };
    },

    async getJob(req) {
      const job = await store.getJob(pool, req.project, id('id', req.id));
      const steps = job.kind === 'workflow' ? await store.jobSteps(pool, req.project, job.id) : [];
      return { job: jobToProto(job), steps: steps.map(jobToProto) };
    },

    async *watchJob(req, ctx): AsyncGenerator<WatchJobResponse> {
      const job = await store.getJob(pool, req.project, id('id', req.id));
      for await (const event of watchJob(pool, bus, job, ctx.signal)) yield { event };
    },

    async cancelJob(req) {
      const before = await store.getJob(pool, req.project, id('id', req.id));
      const job = await store.requestCancel(pool, req.project, before.id);
      if (before.state === 'queued' && job.state === 'cancelled') await announceCancelled(job);
      else if (job.cancelRequested) jobs.cancelRequested?.(job.id);
      return { job: jobToProto(job) };
    },
  };
}

import type { WatchJobResponse } from '../../../libs/gen/aide/v1/controller.js';
import * as store from '../store/jobs.js';
import { getProject } from '../store/projects.js';
import { jobKindFromProto, jobStateFromProto, jobToProto } from '../wire/job.js';
import type { ControllerDeps, ControllerHandlers } from './deps.js';
import { id } from './fields.js';
import { announceCancelled } from './job-cancel.js';
import { inferenceOptions, rankingOptions, trainingOptions, workflowOptions } from './job-requests.js';
import { watchJob } from './job-watch.js';
import { paginate } from './paging.js';

export function jobHandlers(deps: ControllerDeps): Pick<ControllerHandlers,
  'startTraining' | 'startInference' | 'startRanking' | 'startWorkflow' | 'listJobs' | 'getJob' | 'watchJob' | 'cancelJob'> {
  const { pool, bus, jobs, registry } = deps;

  return {
    async startTraining(req) {
      return { job: jobToProto(await jobs.start('train', req.project, await trainingOptions(pool, registry, req))) };
    },

    async startInference(req) {
      return { job: jobToProto(await jobs.start('inference', req.project, await inferenceOptions(pool, req))) };
    },

    async startRanking(req) {
      return { job: jobToProto(await jobs.start('rank', req.project, await rankingOptions(pool, req))) };
    },

    async startWorkflow(req) {
      return { job: jobToProto(await jobs.start('workflow', req.project, await workflowOptions(pool, registry, req))) };
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
      if (before.state === 'queued' && job.state === 'cancelled') await announceCancelled(deps, job, 'cancelled while queued');
      else if (job.cancelRequested) jobs.cancelRequested?.(job.id);
      return { job: jobToProto(job) };
    },
  };
}

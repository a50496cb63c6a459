import type { Command } from 'commander';
import { JobKind, JobState } from '../../../libs/gen/aide/v1/common.js';
import { CancelJobResponse, GetJobResponse, ListJobsResponse } from '../../../libs/gen/aide/v1/controller.js';
import { jobLine, jobWithSteps } from '../format.js';
import { allPages } from '../pages.js';
import { withSession } from '../session.js';
import { jobKinds, jobStates } from '../vocabulary.js';
import { watchJob } from '../watch-job.js';

export function registerJobs(program: Command): void {
  const jobs = program.command('jobs').description('a project\'s jobs: list, show, watch, cancel');

  jobs.command('list <project>').description('list jobs, newest first')
    .addOption(jobStates.option('--state <state>', 'only jobs in this state'))
    .addOption(jobKinds.option('--kind <kind>', 'only jobs of this kind'))
    .action(withSession(async (session, project: string, o: { state?: JobState; kind?: JobKind }) => {
      const all = await allPages((pageToken) => session.controller.listJobs({
        project, state: o.state ?? JobState.JOB_STATE_UNSPECIFIED, kind: o.kind ?? JobKind.JOB_KIND_UNSPECIFIED, pageSize: 100, pageToken,
      }), (p) => p.jobs);
      session.print({ jobs: all, nextPageToken: '' }, ListJobsResponse, (r) => r.jobs.map(jobLine));
    }));

  jobs.command('get <project> <id>').description('show a job (a workflow with its steps)')
    .action(withSession(async (session, project: string, id: string) => {
      session.print(await session.controller.getJob({ project, id }), GetJobResponse, jobWithSteps);
    }));

  jobs.command('watch <project> <id>').description('follow a job with a progress bar until it ends (exit 1 unless it succeeds)')
    .action(withSession(async (session, project: string, id: string) => watchJob(session, project, id)));

  jobs.command('cancel <project> <id>').description('cancel a queued or running job')
    .action(withSession(async (session, project: string, id: string) => {
      session.print(await session.controller.cancelJob({ project, id }), CancelJobResponse, (r) => [jobLine(r.job!)]);
    }));
}

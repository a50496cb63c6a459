import type { Command } from 'commander';
import type { Job, JobKind } from '../../../libs/gen/aide/v1/common.js';
import {
  StartInferenceResponse, StartRankingResponse, StartTrainingResponse, StartWorkflowResponse,
} from '../../../libs/gen/aide/v1/controller.js';
import { count } from '../parse.js';
import { jobLine } from '../format.js';
import { withSession, type Session } from '../session.js';
import { jobKinds } from '../vocabulary.js';
import { watchJob } from '../watch-job.js';

/** Options of every command that starts a job on workers. */
interface StartOptions {
  watch?: boolean;
  workers: number;
}

const ids = (value: string): string[] => value.split(',').map((s) => s.trim()).filter(Boolean);

/** Prints the response of a Start… call, then follows its job with --watch. */
async function started<R extends { job: Job | undefined }>(session: Session, res: R, codec: { toJSON(r: R): unknown }, o: { watch?: boolean }): Promise<void> {
  session.print(res, codec, (r) => [`started ${jobLine(r.job!)}`]);
  if (o.watch) await watchJob(session, res.job!.project, res.job!.id);
}

function jobCommand(program: Command, name: string, description: string): Command {
  return program.command(`${name} <project>`).description(description)
    .option('--workers <n>', 'workers (shards) to use; 0 = the project\'s setting', count, 0)
    .option('--watch', 'follow the job with a progress bar until it ends (exit 1 unless it succeeds)');
}

export function registerStart(program: Command): void {
  jobCommand(program, 'train', 'train the project\'s model on its annotated images')
    .option('--epochs <n>', 'federated-averaging rounds; 0 = 1', count, 0)
    .option('--images <ids>', 'train on these images only (comma-separated ids)', ids, [])
    .option('--from-scratch', 'start from fresh weights instead of the current state (which stays)')
    .action(withSession(async (session, project: string, o: StartOptions & { epochs: number; images: string[]; fromScratch?: boolean }) => {
      const res = await session.controller.startTraining({
        project, numWorkers: o.workers, numEpochs: o.epochs, imageIds: o.images, fromScratch: o.fromScratch ?? false,
      });
      await started(session, res, StartTrainingResponse, o);
    }));

  jobCommand(program, 'infer', 'predict images (default: those without annotations) with a model state')
    .option('--images <ids>', 'predict these images (comma-separated ids)', ids, [])
    .option('--golden-only', 'predict the golden questions only')
    .option('--include-annotated', 'predict the annotated images too (for `aide review` and the coreset ranker\'s labelled centres)')
    .option('--state <id>', 'model state to use (default: the current one)', '')
    .action(withSession(async (session, project: string, o: StartOptions & { images: string[]; goldenOnly?: boolean; includeAnnotated?: boolean; state: string }) => {
      const res = await session.controller.startInference({
        project, imageIds: o.images, goldenQuestionsOnly: o.goldenOnly ?? false, numWorkers: o.workers, modelStateId: o.state,
        includeAnnotated: o.includeAnnotated ?? false,
      });
      await started(session, res, StartInferenceResponse, o);
    }));

  program.command('rank <project>').description('rank the predictions with the project\'s ranker (sets each prediction\'s priority)')
    .option('--state <id>', 'model state whose predictions to rank (default: the current one)', '')
    .option('--watch', 'follow the job until it ends (exit 1 unless it succeeds)')
    .action(withSession(async (session, project: string, o: { state: string; watch?: boolean }) => {
      await started(session, await session.controller.startRanking({ project, modelStateId: o.state }), StartRankingResponse, o);
    }));

  jobCommand(program, 'workflow', 'run steps one after another (default: train → inference → rank)')
    .option('--epochs <n>', 'federated-averaging rounds of training steps; 0 = 1', count, 0)
    // No commander default: it would print as "(default: [])"; an empty list is the service's train → inference → rank.
    .option('--steps <kinds>', `comma-separated steps (${jobKinds.words.join(', ')}; default: train,inference,rank)`, (v) => v.split(',').map(jobKinds.parse))
    .option('--from-scratch', 'the first training step starts from fresh weights instead of the current state')
    .action(withSession(async (session, project: string, o: StartOptions & { epochs: number; steps?: JobKind[]; fromScratch?: boolean }) => {
      const steps = (o.steps ?? []).map((kind) => ({ kind, numWorkers: o.workers, numEpochs: o.epochs, fromScratch: false }));
      const res = await session.controller.startWorkflow({ project, steps, fromScratch: o.fromScratch ?? false });
      await started(session, res, StartWorkflowResponse, o);
    }));
}

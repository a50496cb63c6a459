/** Start requests checked and turned into job options; ids must be the project's. */
import { failedPrecondition, invalidField } from '../../../libs/errors.js';
import type {
  StartInferenceRequest, StartRankingRequest, StartTrainingRequest, StartWorkflowRequest,
} from '../../../libs/gen/aide/v1/controller.js';
import type { Registry } from '../../../libs/plugin/registry.js';
import type { Project } from '../domain.js';
import type { Db } from '../store/db.js';
import { imagesByIds } from '../store/images.js';
import { currentState, getCompleteState } from '../store/model-states.js';
import { getProject } from '../store/projects.js';
import type { JobOptions } from '../ports.js';
import { checkTrainingBase } from '../training-base.js';
import { jobKindFromProto } from '../wire/job.js';
import { ids, optionalId } from './fields.js';

const MAX_WORKERS = 64;
const MAX_EPOCHS = 1000;

function bounded(field: string, value: number, max: number): number {
  if (value > max) throw invalidField(field, `must be at most ${max}`);
  return value;
}

async function trainable(db: Db, name: string): Promise<Project> {
  const project = await getProject(db, name);
  if (project.settings.modelLibrary === '') throw failedPrecondition(`project '${name}' has no model (settings.model_library)`);
  return project;
}

async function imageIds(db: Db, project: string, values: readonly string[]): Promise<{ image_ids?: string[] }> {
  if (values.length === 0) return {};
  const list = ids('image_ids', values);
  await imagesByIds(db, project, list);
  return { image_ids: list };
}

/** The given state of the project, or the current one (FAILED_PRECONDITION when there is none). */
async function stateId(db: Db, project: string, value: string): Promise<string> {
  const given = optionalId('model_state_id', value);
  if (given !== undefined) return (await getCompleteState(db, project, given)).id;
  const current = await currentState(db, project);
  if (!current) throw failedPrecondition(`project '${project}' has no model state yet: train first`);
  return current.id;
}

/** Refuses training a model that only predicts (a pretrained graph run as it is): the job could only fail. */
function checkTrainable(registry: Registry, project: Project, what: string): void {
  const library = project.settings.modelLibrary;
  if (registry.models.get(library)?.meta.trainable === false) {
    throw failedPrecondition(`model ${library} of project '${project.name}' only predicts and cannot be trained: ${what}`);
  }
}

/** Refuses to start training from a current state of another model (the job would fail the same way). */
async function checkCurrentForTraining(db: Db, project: Project): Promise<void> {
  const current = await currentState(db, project.name);
  if (current) checkTrainingBase(project, current);
}

export async function trainingOptions(db: Db, registry: Registry, req: StartTrainingRequest): Promise<JobOptions> {
  const project = await trainable(db, req.project);
  checkTrainable(registry, project, 'run inference with its imported state (StartInference, or StartWorkflow with steps inference and rank)');
  // From scratch, the current state is not read: of another model or not, it does not matter.
  if (!req.fromScratch) await checkCurrentForTraining(db, project);
  return {
    num_workers: bounded('num_workers', req.numWorkers, MAX_WORKERS) || project.settings.autoTrain.numWorkers || 1,
    num_epochs: bounded('num_epochs', req.numEpochs, MAX_EPOCHS) || 1,
    ...(await imageIds(db, req.project, req.imageIds)),
    ...(req.fromScratch ? { from_scratch: true } : {}),
  };
}

export async function inferenceOptions(db: Db, req: StartInferenceRequest): Promise<JobOptions> {
  await trainable(db, req.project);
  return {
    num_workers: bounded('num_workers', req.numWorkers, MAX_WORKERS) || 1,
    golden_questions_only: req.goldenQuestionsOnly,
    ...(req.includeAnnotated ? { include_annotated: true } : {}),
    state_id: await stateId(db, req.project, req.modelStateId),
    ...(await imageIds(db, req.project, req.imageIds)),
  };
}

export async function rankingOptions(db: Db, req: StartRankingRequest): Promise<JobOptions> {
  const project = await getProject(db, req.project);
  if (project.settings.rankerLibrary === '') throw failedPrecondition(`project '${req.project}' has no ranker (settings.ranker_library)`);
  return { state_id: await stateId(db, req.project, req.modelStateId) };
}

const DEFAULT_STEPS: NonNullable<JobOptions['steps']> = [
  { kind: 'train', num_workers: 0, num_epochs: 0 },
  { kind: 'inference', num_workers: 0, num_epochs: 0 },
  { kind: 'rank', num_workers: 0, num_epochs: 0 },
];

/**
 * Steps train / inference / rank; 0 workers or epochs = the step's default.
 * `from_scratch` on the request marks the first train step (later ones continue from it).
 */
export async function workflowOptions(db: Db, registry: Registry, req: StartWorkflowRequest): Promise<JobOptions> {
  const project = await trainable(db, req.project);
  const given = req.steps.map((s, i) => {
    const kind = jobKindFromProto(s.kind);
    if (kind !== 'train' && kind !== 'inference' && kind !== 'rank') throw invalidField(`steps[${i}].kind`, 'must be train, inference or rank');
    if (s.fromScratch && kind !== 'train') throw invalidField(`steps[${i}].from_scratch`, 'only a train step can start from scratch');
    return {
      kind,
      num_workers: bounded(`steps[${i}].num_workers`, s.numWorkers, MAX_WORKERS),
      num_epochs: bounded(`steps[${i}].num_epochs`, s.numEpochs, MAX_EPOCHS),
      ...(s.fromScratch ? { from_scratch: true } : {}),
    };
  });
  const steps: NonNullable<JobOptions['steps']> = given.length > 0 ? given : DEFAULT_STEPS.map((s) => ({ ...s }));
  if (req.fromScratch) {
    const first = steps.find((s) => s.kind === 'train');
    if (!first) throw invalidField('from_scratch', 'the workflow has no train step');
    first.from_scratch = true;
  }
  if (steps.some((s) => s.kind === 'train')) checkTrainable(registry, project, 'give the workflow steps without train (inference, rank)');
  if (steps[0]?.kind === 'train' && !steps[0].from_scratch) await checkCurrentForTraining(db, project);
  return { steps };
}

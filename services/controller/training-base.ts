/** The one rule on what a training may continue from, shared by the API (at the start) and the job (when it runs). */
import { failedPrecondition } from '../../libs/errors.js';
import type { ModelStateInfo, Project } from './domain.js';

/**
 * Training continues from `base`, which must be of the project's model: a
 * state of another model is refused (FAILED_PRECONDITION), never swapped for
 * a fresh network unnoticed. (Changing the project's model makes the newest
 * state of the new model current, or none, so training after a change of
 * model starts afresh by choice.)
 */
export function checkTrainingBase(project: Project, base: ModelStateInfo): void {
  const model = project.settings.modelLibrary;
  if (base.modelLibrary === model) return;
  throw failedPrecondition(`the current model state v${base.version ?? '?'} is of model '${base.modelLibrary}', project '${project.name}' trains '${model}': make a state of '${model}' current (SetCurrentModelState), or switch the project's model to '${base.modelLibrary}'`);
}

import type { Job, Project } from '../../libs/gen/aide/v1/common.js';
import type { GetJobResponse } from '../../libs/gen/aide/v1/controller.js';
import { annotationTypes, jobKinds, jobStates } from './vocabulary.js';

/** Text forms of the messages several commands print. */

export const when = (d: Date | undefined): string => d?.toISOString() ?? '-';

export function projectLines(p: Project): string[] {
  const s = p.settings;
  const auto = s?.autoTrain;
  return [
    `project          ${p.name}${p.displayName ? ` (${p.displayName})` : ''}`,
    `annotation type  ${annotationTypes.word(p.annotationType)} → predictions: ${annotationTypes.word(p.predictionType)}`,
    `model            ${s?.modelLibrary || '-'} ${s?.modelOptionsJson || ''}`.trimEnd(),
    `ranker           ${s?.rankerLibrary || '-'} ${s?.rankerOptionsJson || ''}`.trimEnd(),
    `auto-train       ${auto?.enabled ? `on, after ${auto.minNewAnnotations} new annotations, ${auto.numWorkers} workers × ${auto.numEpochs} epochs` : 'off'}`,
    `created          ${when(p.createdAt)}`,
  ];
}

export function jobLine(j: Job): string {
  const progress = j.total > 0 ? ` ${j.done}/${j.total}` : '';
  const detail = j.error || j.message;
  return `${j.id}  ${jobKinds.word(j.kind).padEnd(9)} ${jobStates.word(j.state).padEnd(9)}${progress}${detail ? `  ${detail}` : ''}`;
}

/** A job, and under it the steps of a workflow. */
export const jobWithSteps = (r: GetJobResponse): string[] => [jobLine(r.job!), ...r.steps.map((s) => `  ${jobLine(s)}`)];

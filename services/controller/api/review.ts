/** Suspect-annotation review: the label annotations the model confidently contradicts (store/suspects.ts). */
import { failedPrecondition, invalidField } from '../../../libs/errors.js';
import { annotationsOfImages } from '../store/annotations.js';
import { getProject } from '../store/projects.js';
import { suspectAnnotations, suspectCursor } from '../store/suspects.js';
import { annotationToProto } from '../wire/annotation.js';
import type { ControllerDeps, ControllerHandlers } from './deps.js';
import { paginate } from './paging.js';
import { stateIdOf } from './predictions.js';

export function reviewHandlers({ pool }: ControllerDeps): Pick<ControllerHandlers, 'listSuspectAnnotations'> {
  return {
    async listSuspectAnnotations(req) {
      if (!(req.minMistakenness >= 0 && req.minMistakenness <= 1)) throw invalidField('min_mistakenness', 'must be in [0, 1]');
      const project = await getProject(pool, req.project);
      if (project.annotationType !== 'labels' || project.predictionType !== 'labels') {
        throw failedPrecondition(`suspect-annotation review compares image labels; project '${project.name}' annotates ${project.annotationType} and predicts ${project.predictionType}`);
      }
      const stateId = await stateIdOf(pool, req.project, 'model_state_id', req.modelStateId);
      if (stateId === null) return { suspects: [], nextPageToken: '' };
      const page = await paginate(req, `suspects:${req.project}:${stateId}:${req.minMistakenness}`,
        (p) => suspectAnnotations(pool, req.project, stateId, req.minMistakenness, p), suspectCursor);
      const annotations = new Map([...(await annotationsOfImages(pool, page.items.map((s) => s.imageId))).values()].flat().map((a) => [a.id, a]));
      return {
        // An annotation deleted between the two reads is no longer a suspect.
        suspects: page.items.filter((s) => annotations.has(s.annotationId)).map((s) => ({
          annotation: annotationToProto(annotations.get(s.annotationId)!),
          filePath: s.filePath,
          predictedLabelClassId: s.predictedLabelClassId,
          predictedConfidence: s.predictedConfidence,
          mistakenness: s.mistakenness,
        })),
        nextPageToken: page.nextPageToken,
      };
    },
  };
}

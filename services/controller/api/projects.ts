import { invalidField } from '../../../libs/errors.js';
import type { ProjectSettings as ProtoSettings } from '../../../libs/gen/aide/v1/common.js';
import { visibleProjects } from '../../../libs/auth/roles.js';
import { currentState } from '../store/model-states.js';
import * as store from '../store/projects.js';
import { projectToProto, settingsFromProto } from '../wire/project.js';
import type { ControllerDeps, ControllerHandlers } from './deps.js';
import { annotationType, text } from './fields.js';
import { paginate } from './paging.js';
import { deleteProjectAndJobs } from './project-deletion.js';
import { verifySettings } from './project-settings.js';

const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const settingsOf = (s: ProtoSettings | undefined): ProtoSettings => s ?? {
  modelLibrary: '', modelOptionsJson: '', rankerLibrary: '', rankerOptionsJson: '', autoTrain: undefined,
  ignoreUnlabeled: false, minAnnotationsPerImage: 0, maxTrainingImages: 0,
};

export function projectHandlers(deps: ControllerDeps): Pick<ControllerHandlers,
  'createProject' | 'getProject' | 'listProjects' | 'updateProjectSettings' | 'deleteProject'> {
  const { pool, registry } = deps;
  return {
    async createProject(req) {
      if (!PROJECT_NAME.test(req.name)) throw invalidField('name', 'must match [a-z0-9][a-z0-9_-]{0,62}');
      const types = {
        annotationType: annotationType('annotation_type', req.annotationType),
        predictionType: annotationType('prediction_type', req.predictionType),
      };
      const { settings } = await verifySettings(registry, settingsFromProto(settingsOf(req.settings)), types);
      const project = await store.insertProject(pool, { name: req.name, displayName: text('display_name', req.displayName), ...types, settings });
      return { project: projectToProto(project) };
    },

    async getProject(req) {
      return { project: projectToProto(await store.getProject(pool, req.project)) };
    },

    async listProjects(req, ctx) {
      const only = visibleProjects(ctx.principal);
      const page = await paginate(req, `projects:${only?.join(',') ?? '*'}`, (p) => store.listProjects(pool, p, only), (p) => p.name);
      return { projects: page.items.map(projectToProto), nextPageToken: page.nextPageToken };
    },

    async updateProjectSettings(req) {
      const project = await store.getProject(pool, req.project);
      const { settings, warnings } = await verifySettings(registry, settingsFromProto(settingsOf(req.settings)), project);
      const updated = await store.updateProjectSettings(pool, req.project, settings);
      // A change from one model to another also changes the current state (store.updateProjectSettings): say which.
      const before = project.settings.modelLibrary;
      if (before !== '' && settings.modelLibrary !== '' && settings.modelLibrary !== before) {
        const current = await currentState(pool, req.project);
        warnings.push(current
          ? `the model changed: model state v${current.version} of '${settings.modelLibrary}' is now current`
          : `the model changed: no state of '${settings.modelLibrary}' yet, the next training starts afresh`);
      }
      return { project: projectToProto(updated), warnings };
    },

    async deleteProject(req, ctx) {
      await deleteProjectAndJobs(deps, req.project, ctx.signal);
      return {};
    },
  };
}

import { getProject } from '../store/projects.js';
import * as store from '../store/label-classes.js';
import { labelClassToProto } from '../wire/image.js';
import type { ControllerDeps, ControllerHandlers } from './deps.js';
import { color, id, text, TEXT_LIMITS } from './fields.js';

export function labelClassHandlers({ pool }: ControllerDeps): Pick<ControllerHandlers,
  'addLabelClass' | 'updateLabelClass' | 'removeLabelClass' | 'listLabelClasses'> {
  return {
    async addLabelClass(req) {
      const c = { name: text('name', req.name, { required: true, max: TEXT_LIMITS.name }), color: color('color', req.color) };
      return { labelClass: labelClassToProto(await store.addLabelClass(pool, req.project, c)) };
    },

    async updateLabelClass(req) {
      const change = {
        ...(req.name === '' ? {} : { name: text('name', req.name, { required: true, max: TEXT_LIMITS.name }) }),
        ...(req.color === '' ? {} : { color: color('color', req.color) }),
      };
      return { labelClass: labelClassToProto(await store.updateLabelClass(pool, req.project, id('id', req.id), change)) };
    },

    async removeLabelClass(req) {
      await store.removeLabelClass(pool, req.project, id('id', req.id));
      return {};
    },

    async listLabelClasses(req) {
      await getProject(pool, req.project);
      return { labelClasses: (await store.listLabelClasses(pool, req.project)).map(labelClassToProto) };
    },
  };
}

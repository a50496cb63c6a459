import { invalidField } from '../../../libs/errors.js';
import { getProject } from '../store/projects.js';
import * as store from '../store/label-classes.js';
import { labelClassToProto } from '../wire/image.js';
import type { ControllerDeps, ControllerHandlers } from './deps.js';
import { color, id, text, TEXT_LIMITS } from './fields.js';

/** Classes added in one call at most: a project's whole class list fits, a runaway script does not. */
const MAX_CLASSES_PER_CALL = 1000;

export function labelClassHandlers({ pool }: ControllerDeps): Pick<ControllerHandlers,
  'addLabelClass' | 'addLabelClasses' | 'updateLabelClass' | 'removeLabelClass' | 'listLabelClasses'> {
  return {
    async addLabelClass(req) {
      const c = { name: text('name', req.name, { required: true, max: TEXT_LIMITS.name }), color: color('color', req.color) };
      return { labelClass: labelClassToProto(await store.addLabelClass(pool, req.project, c)) };
    },

    async addLabelClasses(req) {
      if (req.labelClasses.length === 0) throw invalidField('label_classes', 'name at least one class');
      if (req.labelClasses.length > MAX_CLASSES_PER_CALL) throw invalidField('label_classes', `at most ${MAX_CLASSES_PER_CALL} in one call`);
      const classes = req.labelClasses.map((c, i) => ({
        name: text(`label_classes[${i}].name`, c.name, { required: true, max: TEXT_LIMITS.name }),
        color: color(`label_classes[${i}].color`, c.color),
      }));
      const seen = new Set<string>();
      classes.forEach((c, i) => {
        if (seen.has(c.name)) throw invalidField(`label_classes[${i}].name`, `'${c.name}' is named twice`);
        seen.add(c.name);
      });
      return { labelClasses: (await store.addLabelClasses(pool, req.project, classes)).map(labelClassToProto) };
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

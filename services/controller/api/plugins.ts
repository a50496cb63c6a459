import { invalidField } from '../../../libs/errors.js';
import { pluginInfo } from '../../../libs/wire/plugin-info.js';
import type { ControllerDeps, ControllerHandlers } from './deps.js';

export function pluginHandlers({ registry }: ControllerDeps): Pick<ControllerHandlers, 'listPlugins' | 'getDefaultOptions' | 'verifyOptions'> {
  const known = (key: string): string => {
    if (!registry.models.has(key) && !registry.rankers.has(key)) throw invalidField('library', `'${key}' is not a registered model or ranker`);
    return key;
  };
  return {
    async listPlugins() {
      return {
        models: [...registry.models.values()].map((e) => pluginInfo(e.meta)),
        rankers: [...registry.rankers.values()].map((e) => pluginInfo(e.meta)),
      };
    },

    async getDefaultOptions(req) {
      return { optionsJson: registry.defaultOptions(known(req.library)) };
    },

    async verifyOptions(req) {
      const v = await registry.verifyOptions(known(req.library), req.optionsJson);
      return { valid: v.valid, warnings: v.warnings, errors: v.errors, optionsJson: JSON.stringify(v.options) };
    },
  };
}

import { invalidField } from '../../libs/errors.js';
import type { JobHeader } from '../../libs/gen/aide/v1/worker.js';
import type { ConfigLike, DbConnectorLike, FileSource } from '../../libs/plugin/context.js';
import { parseOptionsJson } from '../../libs/plugin/options.js';
import type { AIModel } from '../../libs/plugin/plugin.js';
import type { Registry } from '../../libs/plugin/registry.js';

export interface ModelFactoryDeps {
  registry: Registry;
  config: ConfigLike;
  dbConnector: DbConnectorLike;
  /** A FileServer client bound to the project (the seed's fileServer). */
  fileSource(project: string): FileSource;
}

/**
 * A fresh model instance per job, constructed as the seed says with
 * (project, config, dbConnector, fileServer, options). Constructors must not
 * touch the GPU; the work starts in train/inference/averageModelStates.
 */
export function createModel(deps: ModelFactoryDeps, header: JobHeader): AIModel {
  const entry = deps.registry.getModel(header.modelLibrary);
  const parsed = parseOptionsJson(header.modelOptionsJson, entry.ctor.getDefaultOptions?.() ?? '');
  if (parsed.error !== undefined) throw invalidField('header.model_options_json', parsed.error);
  return new entry.ctor({
    project: header.project,
    config: deps.config,
    dbConnector: deps.dbConnector,
    fileServer: deps.fileSource(header.project),
    options: parsed.options,
  });
}

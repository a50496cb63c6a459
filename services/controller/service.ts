import { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import { implement, type ImplementOptions } from '../../libs/grpc/index.js';
import type { ServiceEntry } from '../../libs/grpc/server.js';
import { annotationHandlers } from './api/annotations.js';
import type { ControllerDeps, ControllerHandlers } from './api/deps.js';
import { imageHandlers } from './api/images.js';
import { jobHandlers } from './api/jobs.js';
import { labelClassHandlers } from './api/label-classes.js';
import { marketplaceHandlers } from './api/marketplace.js';
import { modelStateHandlers } from './api/model-states.js';
import { pluginHandlers } from './api/plugins.js';
import { predictionHandlers } from './api/predictions.js';
import { projectHandlers } from './api/projects.js';
import { reviewHandlers } from './api/review.js';
import { CONTROLLER_ACCESS, CONTROLLER_STREAM_PROJECT } from './roles.js';
import { audited } from './audited.js';
import { secured } from './secured.js';

/** Every ControllerService handler, unsecured. */
export function controllerHandlers(deps: ControllerDeps): ControllerHandlers {
  return {
    ...projectHandlers(deps),
    ...labelClassHandlers(deps),
    ...imageHandlers(deps),
    ...annotationHandlers(deps),
    ...predictionHandlers(deps),
    ...reviewHandlers(deps),
    ...pluginHandlers(deps),
    ...modelStateHandlers(deps),
    ...marketplaceHandlers(deps),
    ...jobHandlers(deps),
  };
}

/** ControllerService with every call authorised by the role table; `options.middleware` (authentication) runs first. */
export function controllerServiceEntry(deps: ControllerDeps, options: ImplementOptions): ServiceEntry {
  const handlers = secured(ControllerServiceService, audited(controllerHandlers(deps), deps.pool, deps.logger), CONTROLLER_ACCESS, CONTROLLER_STREAM_PROJECT);
  return {
    name: 'aide.v1.ControllerService',
    definition: ControllerServiceService,
    implementation: implement(ControllerServiceService, handlers, options),
  };
}

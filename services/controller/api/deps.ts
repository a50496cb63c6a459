import type pg from 'pg';
import type { EventBus } from '../../../libs/bus/index.js';
import type { FileServerClient } from '../../../libs/fileserver-client/index.js';
import type { ControllerServiceService } from '../../../libs/gen/aide/v1/controller.js';
import type { ServiceHandlers } from '../../../libs/grpc/index.js';
import type { Logger } from '../../../libs/log.js';
import type { Registry } from '../../../libs/plugin/registry.js';
import type { JobStarter } from '../ports.js';
import type { StateStore } from '../store/model-states.js';

/** A project's folder on the FileServer, as far as the controller reads it. */
export type ProjectFiles = Pick<FileServerClient, 'list' | 'getImage' | 'getImages'>;

/** Everything the API handlers use. */
export interface ControllerDeps {
  pool: pg.Pool;
  /** The same pool, with the folder of the states' bytes. */
  states: StateStore;
  registry: Registry;
  bus: EventBus;
  jobs: JobStarter;
  files: (project: string) => ProjectFiles;
  /** [FileServer] url_signing_key: signs the image URLs browsers fetch from the FileServer; none = no URLs. */
  urlSigningKey?: Buffer;
  /** Largest model state ImportModelState accepts, in bytes. */
  maxStateBytes: number;
  logger: Logger;
}

export type ControllerHandlers = ServiceHandlers<typeof ControllerServiceService>;

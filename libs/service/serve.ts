import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { serverCredentials } from '../grpc/credentials.js';
import { startServer, type RunningServer, type ServiceEntry } from '../grpc/server.js';
import { bindPort } from '../config/setting-error.js';
import { warnIfUnprotected } from './mesh-access.js';
import { listenSettings, tlsSettings } from './settings.js';

export interface ServedGrpc {
  server: RunningServer;
  drainDeadlineMs: number;
  /** Aborted when the drain deadline passes: long streams end then. */
  shutdownSignal: AbortSignal;
}

/** Binds a service's gRPC server where its config section says, with the mesh's TLS settings. */
export async function serveFromConfig(opts: {
  name: string;
  section: string;
  defaultPort: number;
  config: Config;
  logger: Logger;
  services: (shutdownSignal: AbortSignal) => ServiceEntry[];
}): Promise<ServedGrpc> {
  const listen = listenSettings(opts.config, opts.section, opts.defaultPort);
  warnIfUnprotected(opts.config, listen.host, opts.logger);
  const shutdownController = new AbortController();
  const credentials = serverCredentials(tlsSettings(opts.config));
  const server = await bindPort({ section: opts.section, key: 'port', ...listen }, () => startServer({
    name: opts.name,
    host: listen.host,
    port: listen.port,
    reflection: listen.reflection,
    services: opts.services(shutdownController.signal),
    credentials,
    logger: opts.logger,
    shutdownController,
  }));
  return { server, drainDeadlineMs: listen.drainDeadlineMs, shutdownSignal: shutdownController.signal };
}

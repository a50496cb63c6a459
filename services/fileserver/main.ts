import { fileURLToPath } from 'node:url';
import { defaultOf } from '../../libs/config/catalog.js';
import type { Config } from '../../libs/config/config.js';
import { FileServiceService } from '../../libs/gen/aide/v1/fileserver.js';
import { implement, logging, tracing } from '../../libs/grpc/index.js';
import type { Logger } from '../../libs/log.js';
import { runService, type RunningService } from '../../libs/service/runtime.js';
import { serveFromConfig } from '../../libs/service/serve.js';
import { metricsFromConfig } from '../../libs/telemetry/metrics-server.js';
import { rpcMetrics } from '../../libs/telemetry/rpc-metrics.js';
import { withTelemetry } from '../../libs/telemetry/sdk.js';
import { openFileServerAccess, type FileServerAccess } from './auth.js';
import { startFileHttpServer } from './http.js';
import { FILE_SERVICE_NAME, fileServiceHandlers } from './service.js';
import { openFileStore } from './store.js';

const SECTION = 'FileServer';

/** What the embedding process decides instead of the settings. */
export interface FileServerDeps {
  /** Who may read and write; default: from the settings (auth.ts). OPEN_FILE_ACCESS only where the whole mesh is one process. */
  access?: FileServerAccess;
}

/** FileServer: config → store → gRPC FileService and HTTP /files/ on the same host. */
export async function startFileServer(config: Config, logger: Logger, deps: FileServerDeps = {}): Promise<RunningService> {
  const store = await openFileStore({
    root: config.getProperty(SECTION, 'root', 'str', defaultOf(SECTION, 'root') as string),
    maxPutBytes: config.getProperty(SECTION, 'max_put_bytes', 'int', defaultOf(SECTION, 'max_put_bytes') as number),
  });
  const ownAccess = deps.access ? undefined : await openFileServerAccess(config, logger);
  const access = deps.access ?? ownAccess!;
  const { server, drainDeadlineMs } = await serveFromConfig({
    name: 'fileserver', section: SECTION, defaultPort: defaultOf(SECTION, 'port') as number, config, logger,
    services: (shutdownSignal) => [{
      name: FILE_SERVICE_NAME, definition: FileServiceService,
      implementation: implement(FileServiceService, access.guard(fileServiceHandlers(store)), {
        shutdownSignal, middleware: [tracing(), rpcMetrics(), logging(logger), ...access.middleware],
      }),
    }],
  });
  const host = config.getProperty(SECTION, 'host', 'str', defaultOf(SECTION, 'host') as string);
  const web = await startFileHttpServer({
    root: store.root,
    host,
    port: config.getProperty(SECTION, 'http_port', 'int', defaultOf(SECTION, 'http_port') as number),
    authorize: access.authorize,
    logger,
  });
  const httpAddress = `${host === '0.0.0.0' ? '127.0.0.1' : host}:${web.port}`;
  logger.info({ address: httpAddress, root: store.root }, 'fileserver HTTP listening');
  const metrics = await metricsFromConfig(config, SECTION, logger);
  return {
    name: 'fileserver',
    addresses: { grpc: server.address, http: httpAddress, ...(metrics && { metrics: metrics.address }) },
    drainDeadlineMs,
    shutdown: async (deadlineMs) => {
      await Promise.all([server.shutdown(deadlineMs), web.close(deadlineMs), metrics?.close()]);
      await ownAccess?.close();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runService('fileserver', withTelemetry('fileserver', startFileServer));

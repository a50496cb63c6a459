import { fileURLToPath } from 'node:url';
import { defaultOf, settingsSnapshot } from '../../libs/config/catalog.js';
import type { Config } from '../../libs/config/config.js';
import { bindPort } from '../../libs/config/setting-error.js';
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
import { startHttpWorkers } from './http-workers.js';
import { fileHttpSettings, fileStoreOptions, SECTION, type FileHttpSettings } from './settings.js';
import { FILE_SERVICE_NAME, fileServiceHandlers } from './service.js';
import { openFileStore, type FileStore } from './store.js';

/** What the embedding process decides instead of the settings. */
export interface FileServerDeps {
  /** Who may read and write; default: from the settings (auth.ts). OPEN_FILE_ACCESS only where the whole mesh is one process. */
  access?: FileServerAccess;
}

/**
 * The HTTP edge: in this process, or in http_processes processes of its own
 * (each taking its access from the settings, so not where the embedding
 * process decides the access).
 */
async function startHttp(
  http: FileHttpSettings, store: FileStore, access: FileServerAccess, deps: FileServerDeps, config: Config, logger: Logger,
): Promise<{ port: number; close(deadlineMs: number): Promise<void> }> {
  if (http.processes > 1 && !deps.access) {
    return startHttpWorkers({ count: http.processes, settings: settingsSnapshot(config), logger });
  }
  if (http.processes > 1) logger.warn({ processes: http.processes }, 'http_processes ignored: the embedding process decides the access, HTTP stays in it');
  return bindPort({ section: SECTION, key: 'http_port', host: http.host, port: http.port }, () => startFileHttpServer({
    root: store.root, host: http.host, port: http.port, cacheBytes: http.cacheBytes, authorize: access.authorize, logger,
  }));
}

/** FileServer: config → store → gRPC FileService and HTTP /files/ on the same host. */
export async function startFileServer(config: Config, logger: Logger, deps: FileServerDeps = {}): Promise<RunningService> {
  const store = await openFileStore(fileStoreOptions(config));
  const http = fileHttpSettings(config);
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
  const web = await startHttp(http, store, access, deps, config, logger);
  const httpAddress = `${http.host === '0.0.0.0' ? '127.0.0.1' : http.host}:${web.port}`;
  logger.info({ address: httpAddress, root: store.root, processes: http.processes }, 'fileserver HTTP listening');
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

import { fileURLToPath } from 'node:url';
import { defaultOf } from '../../libs/config/catalog.js';
import type { Config } from '../../libs/config/config.js';
import { logging, type Middleware } from '../../libs/grpc/index.js';
import type { Logger } from '../../libs/log.js';
import { runService, type RunningService } from '../../libs/service/runtime.js';
import { serveFromConfig } from '../../libs/service/serve.js';
import { allowAll, startFileHttpServer, type Authorize } from './http.js';
import { fileServiceEntry } from './service.js';
import { openFileStore } from './store.js';

const SECTION = 'FileServer';

/** What the embedding process decides: who may read over HTTP, and extra gRPC middleware (auth). */
export interface FileServerDeps {
  /** Default: everyone (the embedded demo); the security work replaces it. */
  authorize?: Authorize;
  middleware?: Middleware[];
}

/** FileServer: config → store → gRPC FileService and HTTP /files/ on the same host. */
export async function startFileServer(config: Config, logger: Logger, deps: FileServerDeps = {}): Promise<RunningService> {
  const store = await openFileStore({
    root: config.getProperty(SECTION, 'root', 'str', defaultOf(SECTION, 'root') as string),
    maxPutBytes: config.getProperty(SECTION, 'max_put_bytes', 'int', defaultOf(SECTION, 'max_put_bytes') as number),
  });
  const { server, drainDeadlineMs } = await serveFromConfig({
    name: 'fileserver', section: SECTION, defaultPort: defaultOf(SECTION, 'port') as number, config, logger,
    services: (shutdownSignal) => [
      fileServiceEntry(store, { shutdownSignal, middleware: [logging(logger), ...(deps.middleware ?? [])] }),
    ],
  });
  const host = config.getProperty(SECTION, 'host', 'str', defaultOf(SECTION, 'host') as string);
  const web = await startFileHttpServer({
    root: store.root,
    host,
    port: config.getProperty(SECTION, 'http_port', 'int', defaultOf(SECTION, 'http_port') as number),
    authorize: deps.authorize ?? allowAll,
    logger,
  });
  const httpAddress = `${host === '0.0.0.0' ? '127.0.0.1' : host}:${web.port}`;
  logger.info({ address: httpAddress, root: store.root }, 'fileserver HTTP listening');
  return {
    name: 'fileserver',
    addresses: { grpc: server.address, http: httpAddress },
    drainDeadlineMs,
    shutdown: async (deadlineMs) => {
      await Promise.all([server.shutdown(deadlineMs), web.close(deadlineMs)]);
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runService('fileserver', startFileServer);

import { fileURLToPath } from 'node:url';
import { runService, type ServiceStarter } from '../../libs/service/runtime.js';
import { serveFromConfig } from '../../libs/service/serve.js';

/** AIWorker: config → wiring → serve. Only health and reflection until its handlers land. */
export const startWorker: ServiceStarter = async (config, logger) => {
  const { server, drainDeadlineMs } = await serveFromConfig({
    name: 'worker', section: 'AIWorker', defaultPort: 50052, config, logger, services: () => [],
  });
  return { name: 'worker', addresses: { grpc: server.address }, drainDeadlineMs, shutdown: (d) => server.shutdown(d) };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) await runService('worker', startWorker);

import { fileURLToPath } from 'node:url';
import { runService, type ServiceStarter } from '../../libs/service/runtime.js';
import { serveFromConfig } from '../../libs/service/serve.js';

/** AIController: config → wiring → serve. Only health and reflection until its handlers land. */
export const startController: ServiceStarter = async (config, logger) => {
  const { server, drainDeadlineMs } = await serveFromConfig({
    name: 'controller', section: 'AIController', defaultPort: 50051, config, logger, services: () => [],
  });
  return { name: 'controller', addresses: { grpc: server.address }, drainDeadlineMs, shutdown: (d) => server.shutdown(d) };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) await runService('controller', startController);

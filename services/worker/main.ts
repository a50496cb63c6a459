import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BlobFolder } from '../../libs/blob/index.js';
import { createBus, PublishQueue, type EventBus } from '../../libs/bus/index.js';
import { FileServerClient } from '../../libs/fileserver-client/index.js';
import { WorkerServiceService } from '../../libs/gen/aide/v1/worker.js';
import { implement, logging, tracing } from '../../libs/grpc/index.js';
import type { DbConnectorLike, FileSource } from '../../libs/plugin/context.js';
import { noDatabase, noFiles } from '../../libs/plugin/probe.js';
import { loadRegistry, type Registry } from '../../libs/plugin/registry.js';
import { runService, type ServiceStarter } from '../../libs/service/runtime.js';
import { serveFromConfig } from '../../libs/service/serve.js';
import { meshClientOptions, meshOnlyMiddleware } from '../../libs/service/mesh-access.js';
import { busOptions, listSetting } from '../../libs/service/settings.js';
import { watchWorkerSlots } from '../../libs/telemetry/metrics.js';
import { metricsFromConfig } from '../../libs/telemetry/metrics-server.js';
import { rpcMetrics } from '../../libs/telemetry/rpc-metrics.js';
import { withTelemetry } from '../../libs/telemetry/sdk.js';
import { selectBackend, type BackendName } from '../../libs/tf/backend.js';
import { workerHandlers } from './handlers.js';
import { JobSlots } from './slots.js';
import { sharedStateFolder } from './state-folder.js';

/** What an embedding process (the demo, tests) may hand in instead of building from config. */
export interface WorkerOverrides {
  registry?: Registry;
  bus?: EventBus;
  dbConnector?: DbConnectorLike;
  fileSource?: (project: string) => FileSource;
  /** The controller's state folder, where the embedding process runs the controller too. */
  stateFolder?: BlobFolder;
}

/** AIWorker: config → wiring → serve. */
export const startWorker = async (config: Parameters<ServiceStarter>[0], logger: Parameters<ServiceStarter>[1], overrides: WorkerOverrides = {}) => {
  const backend = await selectBackend(config.getProperty('AIWorker', 'backend', 'str', 'auto') as 'auto' | BackendName);
  logger.info({ backend: backend.name, skipped: backend.skipped }, 'tfjs backend');
  const registry = overrides.registry ?? await loadRegistry({ extra: listSetting(config, 'Models', 'extra'), config, logger });
  const ownBus = overrides.bus === undefined;
  const bus = overrides.bus ?? await createBus(busOptions(config));
  const progress = new PublishQueue(bus, { logger });
  const fileServerAddress = config.getProperty('AIWorker', 'fileserver', 'str', '');
  const mesh = meshClientOptions(config);
  if (!fileServerAddress && !overrides.fileSource) logger.warn('no [AIWorker] fileserver: models will find no files');
  const fileSource = overrides.fileSource
    ?? (fileServerAddress ? (project: string) => new FileServerClient({ address: fileServerAddress, project, ...mesh }) : () => noFiles);
  const workerId = config.getProperty('AIWorker', 'worker_id', 'str', '') || `${hostname()}-${process.pid}`;
  const slots = new JobSlots(config.getProperty('AIWorker', 'max_concurrent_jobs', 'int', 2));
  const handlers = workerHandlers({
    workerId, registry, progress, config,
    dbConnector: overrides.dbConnector ?? noDatabase,
    fileSource,
    slots,
    maxStateBytes: config.getProperty('AIWorker', 'max_state_bytes', 'int', 2 * 1024 ** 3),
    stateFolder: overrides.stateFolder
      ? async () => overrides.stateFolder
      : sharedStateFolder(config.getProperty('AIWorker', 'state_dir', 'str', ''), { sync: config.getProperty('AIWorker', 'state_sync', 'bool', true) }),
    backend,
  });
  const { server, drainDeadlineMs } = await serveFromConfig({
    name: 'worker', section: 'AIWorker', defaultPort: 50052, config, logger,
    services: (shutdownSignal) => [{
      name: 'aide.v1.WorkerService', definition: WorkerServiceService,
      implementation: implement(WorkerServiceService, handlers, { middleware: [tracing(), rpcMetrics(), logging(logger), ...meshOnlyMiddleware(config)], shutdownSignal }),
    }],
  });
  const metrics = await metricsFromConfig(config, 'AIWorker', logger);
  const unwatchSlots = watchWorkerSlots(workerId, slots);
  return {
    name: 'worker', workerId, addresses: { grpc: server.address, ...(metrics && { metrics: metrics.address }) }, drainDeadlineMs,
    async shutdown(deadlineMs: number) {
      await server.shutdown(deadlineMs);
      unwatchSlots();
      await metrics?.close();
      // Progress still queued for an unreachable bus gets a moment, not the whole drain.
      await progress.close(Math.min(deadlineMs, 2000));
      if (ownBus) await bus.close();
    },
  };
};

if (process.argv[1] === fileURLToPath(import.meta.url)) await runService('worker', withTelemetry('worker', startWorker));

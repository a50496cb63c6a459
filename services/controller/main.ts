import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BlobFolder } from '../../libs/blob/index.js';
import { createBus, type EventBus } from '../../libs/bus/index.js';
import type { Config } from '../../libs/config/config.js';
import { SettingError, settingName } from '../../libs/config/setting-error.js';
import { failedPrecondition } from '../../libs/errors.js';
import { databaseOptions, migrate, openDatabase, type Database } from '../../libs/db/index.js';
import { FileServerClient } from '../../libs/fileserver-client/index.js';
import { FileServiceService } from '../../libs/gen/aide/v1/fileserver.js';
import { createClient, logging, tracing, type Middleware } from '../../libs/grpc/index.js';
import { metricsFromConfig } from '../../libs/telemetry/metrics-server.js';
import { rpcMetrics } from '../../libs/telemetry/rpc-metrics.js';
import { withTelemetry } from '../../libs/telemetry/sdk.js';
import { adminServiceEntry } from '../../libs/auth/admin-service.js';
import { authenticate } from '../../libs/auth/middleware.js';
import { migrateAuth } from '../../libs/auth/schema.js';
import { meshToken, urlSigningKey } from '../../libs/auth/settings.js';
import { TokenStore } from '../../libs/auth/tokens.js';
import type { Logger } from '../../libs/log.js';
import { loadRegistry, type Registry } from '../../libs/plugin/registry.js';
import { runService, type RunningService } from '../../libs/service/runtime.js';
import { serveHttp2, type Http2Lane } from '../../libs/service/http2-serve.js';
import { serveFromConfig } from '../../libs/service/serve.js';
import { meshClientOptions } from '../../libs/service/mesh-access.js';
import { busOptions, listSetting, tlsSettings } from '../../libs/service/settings.js';
import type { ProjectFiles } from './api/deps.js';
import { stateLaneHandler, type StateLaneDeps } from './api/state-lane.js';
import type { JobStarter } from './ports.js';
import { CONTROLLER_MIGRATIONS } from './schema/index.js';
import { startOrchestration } from './orchestration/index.js';
import { controllerServiceEntry } from './service.js';
import type { StateStore } from './store/model-states.js';
import { maintainStateFolder, moveLegacyStates, reapDeletedBlobs, sweepOrphanBlobs } from './store/state-blobs.js';

const SECTION = 'AIController';

/** What an embedding process (the demo, tests) hands in instead of building from config. */
export interface ControllerOverrides {
  database?: Database;
  bus?: EventBus;
  registry?: Registry;
  /** The orchestrator; default: one built from [AIController] settings (workers, ranker). */
  jobs?: JobStarter;
  files?: (project: string) => ProjectFiles;
  /** Authentication (sets ctx.principal) before the role checks; default: API tokens, and mesh peers under mTLS. */
  middleware?: Middleware[];
  /** The folder of the states' bytes (shared with a job runner the embedding process runs); default: from [AIController] state_dir. */
  stateBlobs?: BlobFolder;
}

export interface RunningController extends RunningService {
  address: string;
  database: Database;
  /** Where its states live (the pool and the folder of their bytes). */
  states: StateStore;
  bus: EventBus;
}

/** Project folders through one shared channel to [AIController] fileserver. */
function fileServerFrom(config: Config): { files: (project: string) => ProjectFiles; close(): void } {
  const address = config.getProperty(SECTION, 'fileserver', 'str', '');
  if (address === '') {
    return { files: () => { throw failedPrecondition(`[${SECTION}] fileserver is not set`); }, close: () => {} };
  }
  const client = createClient(FileServiceService, address, meshClientOptions(config));
  return { files: (project) => new FileServerClient({ client, project }), close: () => client.close() };
}

/**
 * The folder of the states' bytes: [AIController] state_dir; unset, beside an
 * embedded database's folder, or for a database that lives only as long as
 * this process (embedded in memory, or handed in by a test) a temporary folder
 * removed at shutdown. A real database without one is a setting error: its
 * states would not outlive the process.
 */
export async function openStateFolder(config: Config, database: Database, ownDatabase: boolean): Promise<{ blobs: BlobFolder; remove(): Promise<void> }> {
  const sync = config.getProperty(SECTION, 'state_sync', 'bool', true);
  const embeddedDir = config.getProperty('Database', 'embedded_dir', 'str', '');
  const dir = config.getProperty(SECTION, 'state_dir', 'str', '') || (database.embedded && embeddedDir ? `${path.resolve(embeddedDir)}-states` : '');
  if (dir) return { blobs: await BlobFolder.open(dir, { sync }), remove: async () => {} };
  if (ownDatabase && !database.embedded) {
    throw new SettingError(`model states need a folder that lasts as long as the database: set ${settingName(SECTION, 'state_dir')}`);
  }
  const temporary = await mkdtemp(path.join(tmpdir(), 'aide-states-'));
  return { blobs: await BlobFolder.open(temporary, { sync }), remove: () => rm(temporary, { recursive: true, force: true }) };
}

/** The state lane where [AIController] state_lane_port asks for one. */
async function stateLane(config: Config, deps: StateLaneDeps): Promise<Http2Lane | undefined> {
  const port = config.getProperty(SECTION, 'state_lane_port', 'int', -1);
  if (port < 0) return undefined;
  const host = config.getProperty(SECTION, 'host', 'str', '0.0.0.0');
  const lane = await serveHttp2({ section: SECTION, key: 'state_lane_port', host, port, tls: tlsSettings(config), onStream: stateLaneHandler(deps) });
  deps.logger.info({ address: lane.address }, 'state lane listening');
  return lane;
}

/** AIController: config → database (migrated), bus, registry, FileServer client → serve ControllerService. */
export async function startController(config: Config, logger: Logger, overrides: ControllerOverrides = {}): Promise<RunningController> {
  const ownDatabase = overrides.database === undefined;
  const database = overrides.database ?? await openDatabase({ ...databaseOptions(config), logger });
  await migrate(database.pool, CONTROLLER_MIGRATIONS);
  const folder = overrides.stateBlobs ? { blobs: overrides.stateBlobs, remove: async () => {} } : await openStateFolder(config, database, ownDatabase);
  const states: StateStore = { db: database.pool, blobs: folder.blobs };
  await moveLegacyStates(states, logger);
  await reapDeletedBlobs(states);
  await sweepOrphanBlobs(states);
  const maintenance = maintainStateFolder(states, logger);
  const ownBus = overrides.bus === undefined;
  const bus = overrides.bus ?? await createBus(busOptions(config));
  const registry = overrides.registry ?? await loadRegistry({ extra: listSetting(config, 'Models', 'extra'), config, logger });
  const fileServer = overrides.files ? { files: overrides.files, close: () => {} } : fileServerFrom(config);
  await migrateAuth(database.pool);
  const tokens = new TokenStore(database.pool);
  // tracing() first, so authentication, logging and the handlers run inside the call's span.
  const auth = { tokens, acceptPeers: !tlsSettings(config).plaintext, meshToken: meshToken(config) };
  const middleware = [tracing(), rpcMetrics(), logging(logger), ...(overrides.middleware ?? [authenticate(auth)])];
  const maxStateBytes = config.getProperty(SECTION, 'max_state_bytes', 'int', 4 * 1024 ** 3);
  const orchestration = overrides.jobs ? undefined : await startOrchestration(config, { db: database.pool, states, bus, registry, logger });
  const jobs: JobStarter = overrides.jobs ?? {
    start: (kind, project, options) => orchestration!.starter.start(kind, project, options),
    annotationsWritten: (project) => orchestration!.annotationsWritten(project),
    cancelRequested: (jobId) => orchestration!.cancelRunning(jobId),
  };

  const { server, drainDeadlineMs } = await serveFromConfig({
    name: 'controller', section: SECTION, defaultPort: 50051, config, logger,
    services: (shutdownSignal) => [
      controllerServiceEntry({
        pool: database.pool, states, registry, bus, files: fileServer.files, logger, jobs, urlSigningKey: urlSigningKey(config),
        maxStateBytes,
      }, { middleware, shutdownSignal }),
      adminServiceEntry(tokens, { middleware, shutdownSignal }),
    ],
  });
  const metrics = await metricsFromConfig(config, SECTION, logger);
  const lane = await stateLane(config, { pool: database.pool, states, registry, auth, maxStateBytes, logger });
  return {
    name: 'controller', address: server.address, drainDeadlineMs, database, states, bus,
    addresses: { grpc: server.address, ...(metrics && { metrics: metrics.address }), ...(lane && { stateLane: lane.address }) },
    async shutdown(deadlineMs: number) {
      await lane?.close(deadlineMs);
      await server.shutdown(deadlineMs);
      await metrics?.close();
      await orchestration?.stop();
      maintenance.stop();
      await folder.remove();
      fileServer.close();
      if (ownBus) await bus.close();
      if (ownDatabase) await database.close();
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await runService('controller', withTelemetry('controller', startController));

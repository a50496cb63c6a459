/**
 * The whole mesh in one process — FileServer, Ranker, workers and the
 * controller over one database and one bus — for `npm start`, the CLI's and
 * clients' tests, and the demo smoke test. Plaintext on loopback.
 */
import { randomBytes } from 'node:crypto';
import { Config } from '../../libs/config/config.js';
import { createBus, type EventBus } from '../../libs/bus/index.js';
import { databaseOptions, openDatabase, type Database } from '../../libs/db/index.js';
import { migrateAuth } from '../../libs/auth/schema.js';
import { urlSigningKey } from '../../libs/auth/settings.js';
import { TokenStore } from '../../libs/auth/tokens.js';
import type { Logger } from '../../libs/log.js';
import { loadRegistry } from '../../libs/plugin/registry.js';
import type { RunningService } from '../../libs/service/runtime.js';
import { busOptions, listSetting } from '../../libs/service/settings.js';
import { openStateFolder, startController } from '../controller/main.js';
import { fileServerAccess, OPEN_FILE_ACCESS } from '../fileserver/auth.js';
import { startFileServer } from '../fileserver/main.js';
import { startRanker } from '../ranker/main.js';
import { startWorker } from '../worker/main.js';

export interface EmbeddedMesh {
  controller: string;
  /** The controller's state lane (host:port), where [AIController] state_lane_port asks for one. */
  stateLane?: string;
  workers: string[];
  ranker: string;
  fileServer: { grpc: string; http: string };
  /** An admin token ('*' = admin), created at start. */
  adminToken: string;
  database: Database;
  bus: EventBus;
  stop(): Promise<void>;
}

/** env: settings as AIDE_<SECTION>_<KEY> (ports, FileServer root, …) on top of the embedded defaults. */
/** workers: how many to run in this process (default 2), or the addresses of workers running elsewhere. */
export async function startEmbeddedMesh(opts: { env: NodeJS.ProcessEnv; logger: Logger; workers?: number | string[] }): Promise<EmbeddedMesh> {
  // Loopback only: the services speak plaintext to each other here, and trust each other.
  const loopback = Object.fromEntries(['AICONTROLLER', 'AIWORKER', 'FILESERVER', 'RANKER'].map((s) => [`AIDE_${s}_HOST`, '127.0.0.1']));
  // A fresh signing key per run, so the controller can hand browsers image URLs the FileServer accepts.
  const env = { ...loopback, AIDE_SECURITY_PLAINTEXT: 'true', AIDE_FILESERVER_URL_SIGNING_KEY: randomBytes(32).toString('hex'), ...opts.env };
  const config = Config.load({ env });
  const { logger } = opts;
  const database = await openDatabase({ ...databaseOptions(config), logger });
  const bus = await createBus(busOptions(config));
  const registry = await loadRegistry({ extra: listSetting(config, 'Models', 'extra'), config, logger });

  // One process, one database: browsers (HTTP) show a token of the controller's store or a signed URL;
  // the mesh's own gRPC calls, on loopback without mTLS identities, are trusted as OPEN_FILE_ACCESS trusts them.
  await migrateAuth(database.pool);
  const tokens = new TokenStore(database.pool);
  const fileserver = await startFileServer(config, logger.child({ service: 'fileserver' }), {
    access: { ...fileServerAccess({ tokens, acceptPeers: false, urlSigningKey: urlSigningKey(config) }), middleware: OPEN_FILE_ACCESS.middleware, guard: OPEN_FILE_ACCESS.guard },
  });
  const ranker = await startRanker(config, logger.child({ service: 'ranker' }), { registry });
  const workerConfig = Config.load({ env: { ...env, AIDE_AIWORKER_PORT: '0', AIDE_AIWORKER_FILESERVER: fileserver.addresses.grpc! } });
  const workers: RunningService[] = [];
  const external = Array.isArray(opts.workers) ? opts.workers : [];
  // The workers here read and write the controller's state folder themselves: no state bytes cross a call.
  const states = await openStateFolder(config, database, false);
  for (let i = 0; i < (Array.isArray(opts.workers) ? 0 : opts.workers ?? 2); i++) {
    workers.push(await startWorker(workerConfig, logger.child({ service: `worker-${i + 1}` }), { registry, bus, stateFolder: states.blobs }));
  }
  const controllerConfig = Config.load({ env: {
    ...env,
    AIDE_AICONTROLLER_WORKERS: [...workers.map((w) => w.addresses.grpc), ...external].join(','),
    AIDE_AICONTROLLER_RANKER: ranker.addresses.grpc!,
    AIDE_AICONTROLLER_FILESERVER: fileserver.addresses.grpc!,
  } });
  const controller = await startController(controllerConfig, logger.child({ service: 'controller' }), { database, bus, registry, stateBlobs: states.blobs });

  const { secret } = await tokens.createToken(
    { name: 'embedded-admin', roles: new Map([['*', 'admin']]), ttlSeconds: 7 * 24 * 3600 }, 'embedded mesh');

  return {
    controller: controller.address,
    ...(controller.addresses.stateLane !== undefined && { stateLane: controller.addresses.stateLane }),
    workers: [...workers.map((w) => w.addresses.grpc!), ...external],
    ranker: ranker.addresses.grpc!,
    fileServer: { grpc: fileserver.addresses.grpc!, http: fileserver.addresses.http! },
    adminToken: secret,
    database,
    bus,
    async stop() {
      for (const s of [controller, ...workers, ranker, fileserver]) await s.shutdown(2000);
      await bus.close();
      await database.close();
      await states.remove();
    },
  };
}

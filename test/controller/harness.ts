/**
 * A controller for one test: on a database target (its own schema) and a bus
 * target, with the fixture model, a real FileServer on a temp folder, a fake
 * orchestrator that just queues jobs, and a test authentication middleware
 * (the FileServer is open: file access control is tested in test/security):
 *
 *   x-test-roles: proj-a=admin,proj-b=viewer   → a token principal with those roles
 *   x-test-peer: any                           → a mesh peer (allowed everything)
 *   neither                                    → anonymous
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Config } from '../../libs/config/config.js';
import { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import { FileServiceService } from '../../libs/gen/aide/v1/fileserver.js';
import { createClient, type Client, type Middleware } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import type { PluginClass } from '../../libs/plugin/plugin.js';
import { loadRegistry } from '../../libs/plugin/registry.js';
import { MaxConfidenceRanker } from '../../models/rankers/max-confidence.js';
import { startController, type RunningController } from '../../services/controller/main.js';
import { createJob } from '../../services/controller/store/jobs.js';
import { OPEN_FILE_ACCESS } from '../../services/fileserver/auth.js';
import { startFileServer } from '../../services/fileserver/main.js';
import type { RunningService } from '../../libs/service/runtime.js';
import { FixtureModel } from '../support/fixture-model.js';
import { busTargets, type TestBus } from '../support/nats.js';
import { databaseTargets, withTestSchema } from '../support/postgres.js';
import { FileServerClient } from '../../libs/fileserver-client/index.js';

export const logger = createLogger('test', 'silent');

/** The test stand-in for bearer-token authentication. */
export const testAuth: Middleware = async (ctx, next) => {
  const roles = ctx.metadata.get('x-test-roles')[0];
  if (ctx.metadata.get('x-test-peer').length > 0) ctx.principal = { kind: 'peer', identity: 'test-peer' };
  else if (typeof roles === 'string') {
    const pairs = roles.split(',').filter(Boolean).map((p) => p.split('=') as [string, string]);
    ctx.principal = { kind: 'token', tokenId: 't1', name: 'tester', roles: new Map(pairs) };
  }
  await next();
};

export type ControllerClient = Client<typeof ControllerServiceService>;

export interface Harness {
  controller: RunningController;
  bus: TestBus;
  /** Root folder of the FileServer: <root>/<project>/… */
  fileRoot: string;
  /** A client calling as a mesh peer. */
  peer: ControllerClient;
  /** A client with these roles ("proj=role,…"; '' = a token with no roles). */
  as(roles: string): ControllerClient;
  anonymous: ControllerClient;
}

export interface Target {
  name: string;
  skip?: string;
  /**
   * `plugins`: the registry's models and rankers instead of the fixture model and max confidence;
   * `controllerEnv`: more of the controller's settings (AIDE_AICONTROLLER_…).
   */
  start(t: TestContext, opts?: { plugins?: readonly PluginClass[]; controllerEnv?: Record<string, string> }): Promise<Harness | undefined>;
}

const metadata = (entries: Record<string, string>): grpc.Metadata => {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) md.set(k, v);
  return md;
};

const plain = (extra: Record<string, string> = {}) => Config.load({
  text: '',
  env: { AIDE_SECURITY_PLAINTEXT: 'true', AIDE_AICONTROLLER_HOST: '127.0.0.1', AIDE_AICONTROLLER_PORT: '0', AIDE_FILESERVER_HOST: '127.0.0.1', AIDE_FILESERVER_PORT: '0', AIDE_FILESERVER_HTTP_PORT: '0', ...extra },
});

/** Real Postgres with NATS, and embedded PGlite with the in-process bus. */
export async function controllerTargets(): Promise<Target[]> {
  const [postgres, pglite] = await databaseTargets();
  const [nats, memory] = await busTargets();
  return [{ db: postgres!, bus: nats! }, { db: pglite!, bus: memory! }].map(({ db, bus }) => ({
    name: `${db.name}+${bus.name}`,
    skip: db.unavailable ?? bus.skipReason,
    async start(t, opts = {}) {
      const database = await withTestSchema(t, db);
      if (!database) return undefined;
      const testBus = await bus.open();
      const fileRoot = mkdtempSync(join(tmpdir(), 'aide-ctl-files-'));
      const fileServer: RunningService = await startFileServer(plain({ AIDE_FILESERVER_ROOT: fileRoot }), logger, { access: OPEN_FILE_ACCESS });
      const registry = await loadRegistry({ builtins: opts.plugins ?? [FixtureModel, MaxConfidenceRanker], logger });
      const fileClient = createClient(FileServiceService, fileServer.addresses.grpc!);
      const controller = await startController(plain(opts.controllerEnv), logger, {
        database, bus: testBus, registry, middleware: [testAuth],
        files: (project) => new FileServerClient({ client: fileClient, project }),
        jobs: { start: (kind, project, options) => createJob(database.pool, { project, kind, options: { ...options } }) },
      });
      const clients: ControllerClient[] = [];
      const client = (md: Record<string, string>) => {
        const c = createClient(ControllerServiceService, controller.address, { metadata: metadata(md) });
        clients.push(c);
        return c;
      };
      t.after(async () => {
        for (const c of clients) c.close();
        fileClient.close();
        await controller.shutdown(1000);
        await fileServer.shutdown(1000);
        await testBus.dispose();
      });
      return {
        controller, bus: testBus, fileRoot,
        peer: client({ 'x-test-peer': '1' }),
        as: (roles) => client({ 'x-test-roles': roles }),
        anonymous: client({}),
      };
    },
  }));
}

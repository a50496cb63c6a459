import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { adminServiceEntry } from '../../libs/auth/admin-service.js';
import { authenticate } from '../../libs/auth/middleware.js';
import { isAideError } from '../../libs/errors.js';
import { AdminServiceService, Role } from '../../libs/gen/aide/v1/admin.js';
import { createClient, startServer } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import { databaseTargets, realPostgresUrl, requireTarget, uniqueSchemaName, withTestSchema } from '../support/postgres.js';
import { tokenMetadata, withTokens } from '../support/auth.js';

const logger = createLogger('test', 'silent');
const [postgres] = await databaseTargets();
const [firstTarget] = (await databaseTargets()).filter((t) => t.unavailable === undefined);

test('AdminService: global admins manage tokens and read the audit trail; nobody else', async (t) => {
  const db = await withTestSchema(t, firstTarget!);
  if (!db) return;
  const tokens = await withTokens(db.pool);
  const server = await startServer({
    name: 'admin', host: '127.0.0.1', port: 0, logger,
    services: [adminServiceEntry(tokens.store, { middleware: [authenticate({ tokens: tokens.store, acceptPeers: false })] })],
  });
  t.after(() => server.shutdown(500));
  const as = (secret?: string) => {
    const c = createClient(AdminServiceService, server.address, secret ? { metadata: tokenMetadata(secret) } : {});
    t.after(() => c.close());
    return c;
  };
  const root = as(await tokens.secretFor({ '*': 'admin' }));

  const created = await root.createApiToken({ name: 'ci', roles: [{ project: 'proj', role: Role.ROLE_TRAINER }], ttlSeconds: 3600 });
  assert.match(created.secret, /^aide_/);
  assert.deepEqual(created.token!.roles, [{ project: 'proj', role: Role.ROLE_TRAINER }]);
  assert.ok(created.token!.expiresAt! > new Date());
  assert.deepEqual((await tokens.store.verify(created.secret))?.roles, new Map([['proj', 'trainer']]));
  await root.revokeApiToken({ id: created.token!.id });
  assert.ok((await root.listApiTokens({})).tokens.find((x) => x.id === created.token!.id)!.revokedAt);
  const { events } = await root.listAuditEvents({ project: '', pageSize: 10, pageToken: '' });
  assert.deepEqual(events.filter((e) => e.target === created.token!.id).map((e) => e.action), ['token.revoke', 'token.create']);
  assert.match(events[0]!.actor, /^token:[0-9a-f]{16}$/);

  await assert.rejects(root.createApiToken({ name: 'x', roles: [{ project: 'p', role: Role.ROLE_UNSPECIFIED }], ttlSeconds: 0 }), (e: unknown) => isAideError(e, 'INVALID_ARGUMENT'));
  await assert.rejects(as().listApiTokens({}), (e: unknown) => isAideError(e, 'UNAUTHENTICATED'));
  const projectAdmin = as(await tokens.secretFor({ proj: 'admin' }));
  await assert.rejects(projectAdmin.listApiTokens({}), (e: unknown) => isAideError(e, 'PERMISSION_DENIED'));
  await assert.rejects(projectAdmin.createApiToken({ name: 'escalate', roles: [{ project: '*', role: Role.ROLE_ADMIN }], ttlSeconds: 0 }),
    (e: unknown) => isAideError(e, 'PERMISSION_DENIED'));
});

const run = promisify(execFile);

test('aide-admin command: create, list, revoke, audit on the configured database', async (t) => {
  if (!requireTarget(t, postgres!)) return;
  const schema = uniqueSchemaName();
  const env = { ...process.env, AIDE_SETTINGS: '', DATABASE_URL: (await realPostgresUrl())!, AIDE_DATABASE_SCHEMA: schema };
  const admin = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'scripts/aide-admin.ts', ...args], { env });
  const db = await postgres!.open(schema);
  t.after(async () => { await db.pool.query(`DROP SCHEMA "${schema}" CASCADE`); await db.close(); });

  const created = await admin('tokens', 'create', '--name', 'ops', '--role', 'proj=admin', '--role', '*=viewer', '--ttl', '30d');
  const secret = created.stdout.trim();
  const { store } = await withTokens(db.pool);
  const principal = await store.verify(secret);
  assert.deepEqual(principal?.roles, new Map([['proj', 'admin'], ['*', 'viewer']]));
  const listed = (await admin('tokens', 'list')).stdout;
  assert.match(listed, new RegExp(`^${principal!.tokenId}\tops\t(proj=admin,\\*=viewer|\\*=viewer,proj=admin)\t.*\tactive$`, 'm'));
  assert.ok(!listed.includes(secret));
  await admin('tokens', 'revoke', principal!.tokenId);
  assert.equal(await store.verify(secret), null);
  const audit = (await admin('audit', 'list')).stdout;
  assert.match(audit, /\tcli:[^\t]+\ttoken\.revoke\t/);
  assert.match(audit, /\tcli:[^\t]+\ttoken\.create\t/);
  await assert.rejects(admin('tokens', 'create', '--name', 'x', '--role', 'proj=owner'), /project=role/);
  await assert.rejects(admin('tokens', 'create', '--name', 'x', '--role', 'proj=admin', '--ttl', '5y'), /30d/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Config } from '../../libs/config/config.js';
import { isAideError } from '../../libs/errors.js';
import { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import { channelCredentials, createClient, type TlsSettings } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import { startController } from '../../services/controller/main.js';
import { createJob } from '../../services/controller/store/jobs.js';
import { tokenMetadata, withTokens } from '../support/auth.js';
import { databaseTargets, withTestSchema } from '../support/postgres.js';
import { createPki } from './pki.js';

/** The controller's public port under mTLS with require_client_cert = false: peers by certificate, users by token. */
test('public port: optional client certificates — a mesh peer by certificate, a user by token, nobody by neither', async (t) => {
  const target = (await databaseTargets()).find((x) => !x.unavailable)!;
  const database = await withTestSchema(t, target);
  if (!database) return;
  const dir = mkdtempSync(join(tmpdir(), 'aide-pki-'));
  const mesh = createPki(dir, 'mesh-ca');
  const stranger = createPki(dir, 'other-ca');
  const own = mesh.issue('controller', { uri: 'spiffe://aide/controller' });
  const config = Config.load({ env: {
    AIDE_SECURITY_TLS_CERT: own.cert, AIDE_SECURITY_TLS_KEY: own.key, AIDE_SECURITY_TLS_CA: mesh.ca, AIDE_SECURITY_REQUIRE_CLIENT_CERT: 'false',
    AIDE_AICONTROLLER_HOST: '127.0.0.1', AIDE_AICONTROLLER_PORT: '0',
  } });
  const controller = await startController(config, createLogger('test', 'silent'), {
    database, jobs: { start: (kind, project, options) => createJob(database.pool, { project, kind, options: { ...options } }) },
  });
  t.after(() => controller.shutdown(1000));
  const tokens = await withTokens(database.pool);
  const as = (tls: TlsSettings, secret?: string) => createClient(ControllerServiceService, controller.address, {
    credentials: channelCredentials(tls), metadata: secret ? tokenMetadata(secret) : undefined, maxAttempts: 1, defaultDeadlineMs: 5000,
  });
  const listed = async (tls: TlsSettings, secret?: string) => {
    const c = as(tls, secret);
    try { return (await c.listProjects({ pageSize: 0, pageToken: '' })).projects.length >= 0; } finally { c.close(); }
  };

  // A user: server-verified TLS, no client certificate, an API token.
  const user: TlsSettings = { plaintext: false, caFile: mesh.ca };
  assert.equal(await listed(user, await tokens.secretFor({ other: 'viewer' })), true);
  await assert.rejects(listed(user), (e: unknown) => isAideError(e, 'UNAUTHENTICATED'), 'no token, no certificate');
  // A mesh peer: its certificate is its credential.
  const peer = mesh.issue('worker', { uri: 'spiffe://aide/worker' });
  assert.equal(await listed({ plaintext: false, caFile: mesh.ca, certFile: peer.cert, keyFile: peer.key }), true);
  // A certificate from another CA never makes a peer: refused at the handshake or left anonymous.
  const intruder = stranger.issue('intruder');
  await assert.rejects(listed({ plaintext: false, caFile: mesh.ca, certFile: intruder.cert, keyFile: intruder.key }),
    (e: unknown) => isAideError(e, 'UNAVAILABLE') || isAideError(e, 'UNAUTHENTICATED'));
});

/**
 * The mesh token over TLS (a second credential, not only for plaintext), and
 * the warning for a plaintext server open to its network without one. The
 * separate-process plaintext mesh with a token: test/services/mesh-token.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeshToken } from '../../libs/auth/mesh-token.js';
import { Config } from '../../libs/config/config.js';
import { isAideError } from '../../libs/errors.js';
import { RankerServiceService } from '../../libs/gen/aide/v1/ranker.js';
import { channelCredentials, createClient } from '../../libs/grpc/index.js';
import { createLogger, type Logger } from '../../libs/log.js';
import { warnIfUnprotected } from '../../libs/service/mesh-access.js';
import { startRanker } from '../../services/ranker/main.js';
import { createPki } from './pki.js';

test('over TLS (client certificates optional, none given) a service with a mesh token takes callers presenting it, and only them', async (t) => {
  const pki = createPki(mkdtempSync(join(tmpdir(), 'aide-pki-')), 'mesh-ca');
  const server = pki.issue('ranker');
  const ranker = await startRanker(Config.load({ text: '', env: {
    AIDE_SECURITY_TLS_CERT: server.cert, AIDE_SECURITY_TLS_KEY: server.key, AIDE_SECURITY_TLS_CA: pki.ca, AIDE_SECURITY_REQUIRE_CLIENT_CERT: 'false',
    AIDE_SECURITY_MESH_TOKEN: 'tls-and-token',
    AIDE_RANKER_HOST: '127.0.0.1', AIDE_RANKER_PORT: '0',
  } }), createLogger('test', 'silent'));
  t.after(() => ranker.shutdown(0));
  const credentials = channelCredentials({ plaintext: false, caFile: pki.ca });
  const as = (token?: string) => {
    const c = createClient(RankerServiceService, ranker.address, { credentials, metadata: token ? new MeshToken(token).metadata() : undefined, maxAttempts: 1, defaultDeadlineMs: 5000 });
    t.after(() => c.close());
    return c;
  };
  assert.ok((await as('tls-and-token').listRankers({})).rankers.length > 0);
  for (const token of [undefined, 'tls-and-toke']) {
    await assert.rejects(as(token).listRankers({}), (e: unknown) => isAideError(e, 'UNAUTHENTICATED'), String(token));
  }
});

test('plaintext on a non-loopback address without a mesh token is warned about; loopback, a token or TLS are not', () => {
  const warnings: string[] = [];
  const logger = { warn: (_: object, message: string) => { warnings.push(message); } } as unknown as Logger;
  const config = (env: Record<string, string>) => Config.load({ text: '', env: { AIDE_SECURITY_PLAINTEXT: 'true', ...env } });
  warnIfUnprotected(config({}), '0.0.0.0', logger);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /mesh_token/);
  warnIfUnprotected(config({}), '127.0.0.1', logger);
  warnIfUnprotected(config({}), 'localhost', logger);
  warnIfUnprotected(config({ AIDE_SECURITY_MESH_TOKEN: 'x' }), '0.0.0.0', logger);
  warnIfUnprotected(config({ AIDE_SECURITY_PLAINTEXT: 'false' }), '0.0.0.0', logger);
  assert.equal(warnings.length, 1);
});

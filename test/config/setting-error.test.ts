import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { SettingError, bindPort, settingProblem } from '../../libs/config/setting-error.js';
import { channelCredentials, serverCredentials } from '../../libs/grpc/credentials.js';
import { startServer } from '../../libs/grpc/server.js';
import { createLogger } from '../../libs/log.js';

test('an unreadable TLS file fails start-up naming its setting and variable', () => {
  assert.throws(() => serverCredentials({ plaintext: false, certFile: '/nonexistent/tls.crt', keyFile: '/nonexistent/tls.key' }),
    (err: unknown) => err instanceof SettingError && /cannot read \/nonexistent\/tls\.crt, named by \[Security\] tls_cert or AIDE_SECURITY_TLS_CERT/.test(err.message));
  assert.throws(() => channelCredentials({ plaintext: false, caFile: '/nonexistent/ca.crt' }),
    (err: unknown) => err instanceof SettingError && /\[Security\] tls_ca or AIDE_SECURITY_TLS_CA/.test(err.message));
  assert.match(settingProblem(new SettingError('x')) ?? '', /^x$/);
  assert.equal(settingProblem(new Error('a bug')), undefined, 'anything else keeps its stack');
});

test('a gRPC port in use: a SettingError naming the section\'s port setting', async (t) => {
  const holder = createServer().listen(0, '127.0.0.1');
  await once(holder, 'listening');
  t.after(() => holder.close());
  const port = (holder.address() as { port: number }).port;
  const bind = () => startServer({ name: 'x', host: '127.0.0.1', port, services: [], logger: createLogger('test', 'silent') });
  await assert.rejects(bindPort({ section: 'Ranker', key: 'port', host: '127.0.0.1', port }, bind),
    (err: unknown) => err instanceof SettingError && err.message === `port ${port} is in use (127.0.0.1:${port}): set [Ranker] port or AIDE_RANKER_PORT`);
});

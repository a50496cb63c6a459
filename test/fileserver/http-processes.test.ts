/**
 * [FileServer] http_processes = 2: the HTTP port is served by two processes of
 * their own, each authorizing from the service's settings (signed URLs, API
 * tokens in the database); a process that dies is replaced; shutdown stops them.
 */
import assert from 'node:assert/strict';
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { signFileUrl } from '../../libs/auth/signed-url.js';
import { Config } from '../../libs/config/config.js';
import { createLogger } from '../../libs/log.js';
import { startFileServer } from '../../services/fileserver/main.js';
import { databaseTargets, withTestSchema } from '../support/postgres.js';
import { withTokens } from '../support/auth.js';
import { httpGet } from './fixture.js';

const KEY = 'k'.repeat(40);
const [target] = (await databaseTargets()).filter((t) => t.unavailable === undefined);
const workers = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);

test('two HTTP processes share the port, authorize like the service, are replaced when they die, stop with it', { timeout: 120_000 }, async (t) => {
  const db = await withTestSchema(t, target!);
  if (!db) return;
  const tokens = await withTokens(db.pool);
  const root = await mkdtemp(path.join(tmpdir(), 'aide-fs-procs-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(path.join(root, 'proj'));
  await writeFile(path.join(root, 'proj', 'a.jpg'), 'image a');
  const server = await startFileServer(Config.load({
    text: '',
    env: {
      AIDE_SECURITY_PLAINTEXT: 'true', AIDE_FILESERVER_ROOT: root, AIDE_FILESERVER_HOST: '127.0.0.1',
      AIDE_FILESERVER_PORT: '0', AIDE_FILESERVER_HTTP_PORT: '0', AIDE_FILESERVER_HTTP_PROCESSES: '2',
      AIDE_FILESERVER_URL_SIGNING_KEY: KEY, AIDE_DATABASE_URL: db.url, AIDE_DATABASE_SCHEMA: db.schema, AIDE_LOG_LEVEL: 'silent',
    },
  }), createLogger('test', 'silent'));
  let stopped = false;
  t.after(async () => { if (!stopped) await server.shutdown(1000); });
  const port = Number(server.addresses.http!.split(':')[1]);
  // A new connection per request (httpGet): the cluster hands connections to the processes in turn.
  const get = (url: string, headers: Record<string, string> = {}) => httpGet(port, url, headers);
  const viewer = await tokens.secretFor({ proj: 'viewer' });
  const stranger = await tokens.secretFor({ other: 'admin' });

  /** Every kind of request answered as the service's own access decides, several times over. */
  async function checkServing(): Promise<void> {
    for (let i = 0; i < 4; i++) {
      const signed = await get(signFileUrl({ project: 'proj', path: 'a.jpg', expiresAt: new Date(Date.now() + 60_000) }, Buffer.from(KEY)));
      assert.equal(signed.body.toString(), 'image a');
      assert.equal((await get('/files/proj/a.jpg', { authorization: `Bearer ${viewer}` })).status, 200);
      assert.equal((await get('/files/proj/a.jpg', { authorization: `Bearer ${stranger}` })).status, 403);
      assert.equal((await get('/files/proj/a.jpg')).status, 401);
      assert.equal((await get('/files/proj/a.jpg?sig=x&exp=1')).status, 403);
    }
  }

  const [first, second] = workers();
  assert.equal(workers().length, 2);
  await checkServing();

  // With one process gone, the other serves alone until the replacement listens; then the replacement serves alone.
  for (const victim of [first!, second!]) {
    const replaced = once(cluster, 'listening');
    victim.process.kill('SIGKILL');
    await once(victim, 'exit');
    await checkServing();
    await replaced;
    assert.equal(workers().length, 2);
  }
  await checkServing();

  const running = workers();
  await server.shutdown(1000);
  stopped = true;
  assert.deepEqual(workers(), []);
  assert.ok(running.every((w) => w.isDead()));
  await assert.rejects(get('/files/proj/a.jpg'), /ECONNREFUSED/);
});

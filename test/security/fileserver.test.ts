import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signFileUrl } from '../../libs/auth/signed-url.js';
import { Config } from '../../libs/config/config.js';
import { isAideError } from '../../libs/errors.js';
import { FileServerClient } from '../../libs/fileserver-client/index.js';
import { FileServiceService } from '../../libs/gen/aide/v1/fileserver.js';
import { createClient } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import { fileServerAccess } from '../../services/fileserver/auth.js';
import { startFileServer } from '../../services/fileserver/main.js';
import { checkHealth } from '../support/health.js';
import { listServices } from '../support/reflection.js';
import { databaseTargets, withTestSchema } from '../support/postgres.js';
import { tokenMetadata, withTokens } from '../support/auth.js';

const logger = createLogger('test', 'silent');
const KEY = Buffer.from('k'.repeat(40));
const hour = () => new Date(Date.now() + 3_600_000);

async function fileRoot(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'aide-sec-files-'));
  for (const [file, text] of [['proj/img/a.jpg', 'image a'], ['proj/img/b.jpg', 'image b'], ['proj/ünï cødé.txt', 'odd name'], ['other/img/a.jpg', 'other a']]) {
    await mkdir(join(root, file, '..'), { recursive: true });
    await writeFile(join(root, file), text);
  }
  return root;
}

const settings = (root: string, extra: Record<string, string> = {}) => Config.load({
  text: '',
  env: {
    AIDE_SECURITY_PLAINTEXT: 'true', AIDE_FILESERVER_ROOT: root, AIDE_FILESERVER_HOST: '127.0.0.1',
    AIDE_FILESERVER_PORT: '0', AIDE_FILESERVER_HTTP_PORT: '0', ...extra,
  },
});

const [firstTarget] = (await databaseTargets()).filter((t) => t.unavailable === undefined);

test('FileServer: signed URLs and tokens over HTTP, roles over gRPC', async (t) => {
  const db = await withTestSchema(t, firstTarget!);
  if (!db) return;
  const tokens = await withTokens(db.pool);
  const root = await fileRoot();
  const server = await startFileServer(settings(root), logger, {
    access: fileServerAccess({ tokens: tokens.store, urlSigningKey: KEY, acceptPeers: false }),
  });
  t.after(() => server.shutdown(1000));
  const base = `http://${server.addresses.http}`;
  const get = (path: string, headers: Record<string, string> = {}) => fetch(base + path, { headers });
  const grpcAs = (secret?: string) => {
    const raw = createClient(FileServiceService, server.addresses.grpc!, secret ? { metadata: tokenMetadata(secret) } : {});
    t.after(() => raw.close());
    return { raw, files: new FileServerClient({ client: raw, project: 'proj' }) };
  };
  const stat = (as: ReturnType<typeof grpcAs>, path: string) => as.raw.statFile({ project: 'proj', path });

  await t.test('HTTP: a signed URL reads its file, odd names included', async () => {
    for (const [path, text] of [['img/a.jpg', 'image a'], ['ünï cødé.txt', 'odd name']]) {
      const res = await get(signFileUrl({ project: 'proj', path, expiresAt: hour() }, KEY));
      assert.equal(res.status, 200);
      assert.equal(await res.text(), text);
    }
  });

  await t.test('HTTP: an altered, expired or foreign-key URL is 403; none at all is 401', async () => {
    const signed = signFileUrl({ project: 'proj', path: 'img/a.jpg', expiresAt: hour() }, KEY);
    const [path, query] = signed.split('?') as [string, string];
    const exp = Number(new URLSearchParams(query).get('exp'));
    const refused = [
      signed.replace('/img/a.jpg', '/img/b.jpg'),
      signed.replace('/files/proj/', '/files/other/'),
      `${path}?${query.replace(`exp=${exp}`, `exp=${exp + 3600}`)}`,
      `${path}?${query.replace(/sig=./, (s) => (s.endsWith('A') ? 'sig=B' : 'sig=A'))}`,
      `${path}?${query}A`,
      signFileUrl({ project: 'proj', path: 'img/a.jpg', expiresAt: new Date(Date.now() - 1000) }, KEY),
      signFileUrl({ project: 'proj', path: 'img/a.jpg', expiresAt: hour() }, Buffer.from('x'.repeat(40))),
      `${path}?exp=${exp}`,
    ];
    for (const url of refused) assert.equal((await get(url)).status, 403, url);
    assert.equal((await get(path)).status, 401);
  });

  await t.test('HTTP: a token needs viewer on the project; bad or revoked tokens are 401', async () => {
    const viewer = await tokens.secretFor({ proj: 'viewer' });
    const stranger = await tokens.secretFor({ other: 'admin' });
    assert.equal((await get('/files/proj/img/a.jpg', { authorization: `Bearer ${viewer}` })).status, 200);
    assert.equal((await get('/files/proj/img/a.jpg', { authorization: `Bearer ${stranger}` })).status, 403);
    assert.equal((await get('/files/proj/img/a.jpg', { authorization: 'Bearer aide_0000000000000000_nope' })).status, 401);
    assert.equal((await get('/files/proj/img/a.jpg', { authorization: 'Basic Zm9vOmJhcg==' })).status, 401);
    await tokens.store.revokeToken((await tokens.store.verify(viewer))!.tokenId, 'test');
    assert.equal((await get('/files/proj/img/a.jpg', { authorization: `Bearer ${viewer}` })).status, 401);
  });

  await t.test('gRPC: anonymous is UNAUTHENTICATED, another project\'s token PERMISSION_DENIED', async () => {
    const anonymous = grpcAs();
    await assert.rejects(stat(anonymous, 'img/a.jpg'), (e: unknown) => isAideError(e, 'UNAUTHENTICATED'));
    const stream = anonymous.raw.getFile({ project: 'proj', path: 'img/a.jpg', offset: 0, length: 0 });
    await assert.rejects(async () => { for await (const _ of stream) { /* drain */ } }, (e: unknown) => isAideError(e, 'UNAUTHENTICATED'));
    const stranger = grpcAs(await tokens.secretFor({ other: 'admin' }));
    await assert.rejects(stat(stranger, 'img/a.jpg'), (e: unknown) => isAideError(e, 'PERMISSION_DENIED'));
    await assert.rejects(stranger.files.putFile('img/x.jpg', Buffer.from('x')), (e: unknown) => isAideError(e, 'PERMISSION_DENIED'));
    const batch = stranger.raw.readImages({ project: 'proj', paths: ['img/a.jpg'], maxSide: 8, squash: true, sizesOnly: false });
    await assert.rejects(async () => { for await (const _ of batch) { /* drain */ } }, (e: unknown) => isAideError(e, 'PERMISSION_DENIED'));
    await assert.rejects(stat(grpcAs('aide_0000000000000000_' + 'x'.repeat(43)), 'img/a.jpg'), (e: unknown) => isAideError(e, 'UNAUTHENTICATED'));
  });

  await t.test('gRPC: viewers read; only admins write', async () => {
    const viewer = grpcAs(await tokens.secretFor({ proj: 'viewer' })).files;
    assert.equal((await viewer.getFile('img/a.jpg'))?.toString(), 'image a');
    assert.equal((await viewer.stat('img/b.jpg'))?.size, 7);
    await assert.rejects(viewer.putFile('img/new.jpg', Buffer.from('nope')), (e: unknown) => isAideError(e, 'PERMISSION_DENIED'));
    await assert.rejects(viewer.delete('img/a.jpg'), (e: unknown) => isAideError(e, 'PERMISSION_DENIED'));
    assert.deepEqual((await readdir(join(root, 'proj', 'img'))).sort(), ['a.jpg', 'b.jpg'], 'nothing written or deleted');
    const admin = grpcAs(await tokens.secretFor({ '*': 'admin' })).files;
    await admin.putFile('img/new.jpg', Buffer.from('yes'));
    assert.equal((await viewer.getFile('img/new.jpg'))?.toString(), 'yes');
  });

  await t.test('health and reflection answer without credentials', async () => {
    assert.equal(await checkHealth(server.addresses.grpc!, 'aide.v1.FileService'), 'SERVING');
    assert.ok((await listServices(server.addresses.grpc!)).includes('aide.v1.FileService'));
  });
});

test('FileServer from settings: signed URLs with url_signing_key, no tokens without a database, reflection can be off', async (t) => {
  const root = await fileRoot();
  const server = await startFileServer(settings(root, {
    AIDE_FILESERVER_URL_SIGNING_KEY: KEY.toString(), AIDE_SECURITY_REFLECTION: 'false', AIDE_DATABASE_URL: '', DATABASE_URL: '',
  }), logger);
  t.after(() => server.shutdown(1000));
  const base = `http://${server.addresses.http}`;
  assert.equal((await fetch(base + signFileUrl({ project: 'proj', path: 'img/a.jpg', expiresAt: hour() }, KEY))).status, 200);
  assert.equal((await fetch(`${base}/files/proj/img/a.jpg`, { headers: { authorization: 'Bearer aide_0123456789abcdef_x' } })).status, 401);
  const anonymous = createClient(FileServiceService, server.addresses.grpc!);
  t.after(() => anonymous.close());
  await assert.rejects(anonymous.statFile({ project: 'proj', path: 'img/a.jpg' }), (e: unknown) => isAideError(e, 'UNAUTHENTICATED'));
  assert.equal(await checkHealth(server.addresses.grpc!, ''), 'SERVING');
  await assert.rejects(listServices(server.addresses.grpc!), /UNIMPLEMENTED/);
});

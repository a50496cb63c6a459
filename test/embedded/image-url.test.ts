import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileServerClient } from '../../libs/fileserver-client/index.js';
import { AnnotationType } from '../../libs/gen/aide/v1/common.js';
import { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import { createClient } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import { startEmbeddedMesh } from '../../services/embedded/mesh.js';
import { tokenMetadata } from '../support/auth.js';

test('GetImageUrl: the controller signs a short-lived browser URL the FileServer honours, and only for that file', async (t) => {
  const mesh = await startEmbeddedMesh({
    logger: createLogger('test', 'silent'), workers: 1,
    env: { AIDE_AICONTROLLER_PORT: '0', AIDE_RANKER_PORT: '0', AIDE_FILESERVER_PORT: '0', AIDE_FILESERVER_HTTP_PORT: '0', AIDE_FILESERVER_ROOT: mkdtempSync(join(tmpdir(), 'aide-url-')) },
  });
  const metadata = tokenMetadata(mesh.adminToken);
  const c = createClient(ControllerServiceService, mesh.controller, { metadata });
  const files = new FileServerClient({ address: mesh.fileServer.grpc, project: 'urls', metadata });
  t.after(async () => { c.close(); files.close(); await mesh.stop(); });

  await c.createProject({ name: 'urls', displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_LABELS, predictionType: AnnotationType.ANNOTATION_TYPE_LABELS, settings: undefined });
  await files.putFile('a/one.jpg', Buffer.from('first image'));
  await files.putFile('a/two.jpg', Buffer.from('second image'));
  await c.registerImages({ project: 'urls', prefix: 'a' });
  const images = (await c.listImages({ project: 'urls', annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 10, pageToken: '' })).images;
  const one = images.find((i) => i.filePath === 'a/one.jpg')!;

  const { url, expiresAtUnix } = await c.getImageUrl({ project: 'urls', imageId: one.id, ttlSeconds: 60 });
  assert.match(url, /^\/files\/urls\/a\/one\.jpg\?exp=\d+&sig=/);
  assert.ok(Math.abs(expiresAtUnix - (Date.now() / 1000 + 60)) < 5);
  const base = `http://${mesh.fileServer.http}`;
  const ok = await fetch(base + url);
  assert.equal(ok.status, 200);
  assert.equal(await ok.text(), 'first image');

  assert.equal((await fetch(base + url.replace('one.jpg', 'two.jpg'))).status, 403, 'the signature is for one file only');
  assert.equal((await fetch(base + url.replace('/urls/', '/other/'))).status, 403, 'and one project');
  assert.equal((await fetch(base + url.replace(/exp=\d+/, (m) => `exp=${Number(m.slice(4)) + 1000}`))).status, 403, 'the expiry is signed');
  assert.equal((await fetch(`${base}/files/urls/a/one.jpg`)).status, 401, 'no signature, no token');
  assert.equal((await fetch(`${base}/files/urls/a/one.jpg`, { headers: { authorization: `Bearer ${mesh.adminToken}` } })).status, 200, 'a token works too');
});

/**
 * The state lane (model states' bytes over plain HTTP/2 beside the gRPC API):
 * byte-exact both ways, the same tokens and roles, the SHA-256 trailer checked
 * before anything is stored, an upload cut off mid-body leaving nothing behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync, readlinkSync } from 'node:fs';
import http2 from 'node:http2';
import { TokenStore } from '../../libs/auth/tokens.js';
import { isAideError } from '../../libs/errors.js';
import { AnnotationType } from '../../libs/gen/aide/v1/common.js';
import { ImportModelStateHeader } from '../../libs/gen/aide/v1/controller.js';
import { StateLaneClient } from '../../libs/state-lane/client.js';
import { IMPORT_HEADER, SHA256_FIELD, statesPath } from '../../libs/state-lane/protocol.js';
import { prngBytes } from '../blob/echo.js';
import { controllerTargets } from './harness.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const header = { project: 'lane', modelLibrary: 'test.fixture', labelClassMap: {}, stats: {}, numImages: 3 };

/** Pieces of odd sizes (none a multiple of a frame). */
function* oddPieces(bytes: Buffer): Generator<Buffer> {
  for (let at = 0, n = 1; at < bytes.length; at += n, n = n * 3 + 7) yield bytes.subarray(at, at + n);
}

for (const target of (await controllerTargets()).slice(0, 1)) {
  test(`state lane over HTTP/2 (${target.name})`, { skip: target.skip }, async (t) => {
    const h = await target.start(t, { controllerEnv: { AIDE_AICONTROLLER_STATE_LANE_PORT: '0' } });
    if (!h) return;
    await h.peer.createProject({ name: 'lane', displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_POINTS, predictionType: AnnotationType.ANNOTATION_TYPE_POINTS, settings: undefined });
    const tokens = new TokenStore(h.controller.database.pool);
    const admin = await tokens.createToken({ name: 'admin', roles: new Map([['lane', 'admin']]) }, 'test');
    const viewer = await tokens.createToken({ name: 'viewer', roles: new Map([['lane', 'viewer']]) }, 'test');
    const url = `http://${h.controller.addresses.stateLane}`;
    const lane = await StateLaneClient.connect(url, { token: admin.secret });
    t.after(() => lane.close());
    const left = async () => ({
      rows: (await h.controller.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM model_states')).rows[0]!.n,
      files: (await h.controller.states.blobs.list()).map((e) => e.name + (e.partial ? '.part' : '')).sort(),
    });

    await t.test('a state larger than a stream window goes up and comes back byte-exact, as gRPC sees it too', async () => {
      const bytes = prngBytes(3 * (1 << 20) + 8, 4);
      const info = await lane.upload(header, bytes.length, oddPieces(bytes));
      assert.equal(Buffer.from(info.sha256).toString('hex'), sha(bytes));
      assert.equal(info.sizeBytes, bytes.length);
      const listed = (await h.peer.listModelStates({ project: 'lane' })).states;
      assert.deepEqual(listed.map((s) => s.id), [info.id]);
      const { info: got, pieces } = await lane.download('lane', info.id);
      const back: Buffer[] = [];
      for await (const p of pieces) back.push(p);
      assert.equal(got.id, info.id);
      assert.equal(sha(Buffer.concat(back)), sha(bytes));
      assert.equal(pieces.sha256?.toString('hex'), sha(bytes));
      await h.peer.deleteModelState({ project: 'lane', id: info.id });
    });

    await t.test('a download the client abandons mid-way stops reading the state: its file is closed again', async () => {
      const bytes = prngBytes(40 << 20, 10);
      const info = await lane.upload(header, bytes.length, oddPieces(bytes));
      const openOnState = () => readdirSync('/proc/self/fd').filter((fd) => {
        try { return readlinkSync(`/proc/self/fd/${fd}`).endsWith(info.id); } catch { return false; }
      }).length;
      const { pieces } = await lane.download('lane', info.id);
      for await (const _ of pieces) break; // one piece, then hang up
      for (let i = 0; i < 300 && openOnState() > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(openOnState(), 0);
      await h.peer.deleteModelState({ project: 'lane', id: info.id });
    });

    await t.test('a small state, whose body and trailer arrive while the request is still being authorized', async () => {
      const bytes = prngBytes(64, 3);
      const info = await lane.upload(header, bytes.length, [bytes]);
      assert.equal(Buffer.from(info.sha256).toString('hex'), sha(bytes));
      await h.peer.deleteModelState({ project: 'lane', id: info.id });
    });

    await t.test('no token is UNAUTHENTICATED, a viewer is PERMISSION_DENIED, an unknown state NOT_FOUND', async () => {
      const anonymous = await StateLaneClient.connect(url, { token: '' });
      const asViewer = await StateLaneClient.connect(url, { token: viewer.secret });
      t.after(() => { anonymous.close(); asViewer.close(); });
      await assert.rejects(anonymous.download('lane', '00000000-0000-0000-0000-000000000000'), (e: unknown) => isAideError(e, 'UNAUTHENTICATED'));
      await assert.rejects(asViewer.upload(header, 8, [Buffer.alloc(8)]), (e: unknown) => isAideError(e, 'PERMISSION_DENIED'));
      await assert.rejects(lane.download('lane', '00000000-0000-0000-0000-000000000000'), (e: unknown) => isAideError(e, 'NOT_FOUND'));
      assert.deepEqual(await left(), { rows: 0, files: [] });
    });

    /** A raw PUT whose trailer or length lies; answers the lane's error code. */
    const rawPut = async (body: Buffer, opts: { length: number; trailer: string }): Promise<{ status: number; code: string }> => {
      const session = http2.connect(url);
      try {
        const req = session.request({
          ':method': 'PUT', ':path': statesPath('lane'), authorization: `Bearer ${admin.secret}`, 'content-length': opts.length,
          [IMPORT_HEADER]: JSON.stringify(ImportModelStateHeader.toJSON({ ...header, size: opts.length })),
        }, { waitForTrailers: true });
        req.once('wantTrailers', () => req.sendTrailers({ [SHA256_FIELD]: opts.trailer }));
        req.end(body);
        const [headers] = await once(req, 'response') as [http2.IncomingHttpHeaders];
        let text = '';
        for await (const piece of req) text += String(piece);
        const answer = JSON.parse(text) as { code: string; message: string };
        return { status: Number(headers[':status']), code: `${answer.code}: ${answer.message}` };
      } finally {
        session.close();
      }
    };

    await t.test('a body that does not match its SHA-256 trailer is DATA_LOSS, and nothing is stored', async () => {
      const bytes = prngBytes(1 << 20, 5);
      const wrong = sha(prngBytes(1 << 20, 6));
      assert.deepEqual(await rawPut(bytes, { length: bytes.length, trailer: wrong }), { status: 422, code: 'DATA_LOSS: the body does not match its aide-sha256 trailer' });
      assert.deepEqual(await left(), { rows: 0, files: [] });
    });

    await t.test('a content-length other than the announced size is INVALID_ARGUMENT', async () => {
      const bytes = prngBytes(64, 7);
      const session = http2.connect(url);
      t.after(() => session.close());
      const req = session.request({
        ':method': 'PUT', ':path': statesPath('lane'), authorization: `Bearer ${admin.secret}`, 'content-length': 64,
        [IMPORT_HEADER]: JSON.stringify(ImportModelStateHeader.toJSON({ ...header, size: 128 })),
      });
      req.end(bytes);
      const [headers] = await once(req, 'response') as [http2.IncomingHttpHeaders];
      assert.equal(headers[':status'], 400);
      assert.deepEqual(await left(), { rows: 0, files: [] });
    });

    await t.test('an upload cut off mid-body leaves no row, no file, no part', async () => {
      const size = 8 << 20;
      async function* halfThenFail(): AsyncGenerator<Buffer> {
        yield prngBytes(5 << 20, 8); // past the head the model checks before the part is written
        // The server is writing the state's part by now: wait until it shows, then go away.
        for (let i = 0; i < 500 && (await h!.controller.states.blobs.list()).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
        throw new Error('the sender went away');
      }
      await assert.rejects(lane.upload(header, size, halfThenFail()), /the sender went away/);
      for (let i = 0; i < 500 && (await left()).files.length > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(await left(), { rows: 0, files: [] });
    });
  });
}

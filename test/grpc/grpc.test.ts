import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FileServiceService, type GetFileResponse, type PutFileRequest } from '../../libs/gen/aide/v1/fileserver.js';
import { implement, startServer, createClient, type Middleware, type CallContext } from '../../libs/grpc/index.js';
import { invalidArgument, notFound, permissionDenied, isAideError } from '../../libs/errors.js';
import { createLogger } from '../../libs/log.js';
import { listServices, describeService } from '../support/reflection.js';
import { checkHealth } from '../support/health.js';

const logger = createLogger('test', 'silent');

/** A fixture service over the FileService definition: exercises every streaming kind. */
function fixture(events: string[], seen: { cancelled?: boolean }) {
  const trace: Middleware = async (ctx, next) => {
    events.push(`before ${ctx.method}`);
    try { await next(); } finally { events.push(`after ${ctx.method}`); }
  };
  const deny: Middleware = async (ctx, next) => {
    if (ctx.metadata.get('x-deny').length > 0) throw permissionDenied('denied by middleware');
    ctx.principal = { kind: 'peer', identity: 'fixture' };
    await next();
  };
  return implement(FileServiceService, {
    async statFile(req, ctx: CallContext) {
      assert.equal(ctx.principal.kind, 'peer');
      if (req.path === 'bad') throw invalidArgument([{ field: 'path', description: 'must not be "bad"' }, { field: 'project', description: 'unknown' }]);
      if (req.path === 'boom') throw new Error('model exploded');
      if (req.path === 'db-gone') throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
      if (req.path === 'db-cut') throw new Error('Connection terminated unexpectedly');
      if (req.path === 'missing') throw notFound('file missing');
      return { info: { path: req.path, size: 7, modifiedAt: new Date(0), contentType: 'x/y', etag: 'e', directory: false } };
    },
    async *getFile(req, ctx) {
      const n = req.length || Number.MAX_SAFE_INTEGER;
      for (let i = 0; i < n; i++) {
        if (ctx.signal.aborted) { seen.cancelled = true; return; }
        yield { payload: { $case: 'chunk', value: { offset: i, totalSize: 0, data: Buffer.alloc(1, i % 256), sha256: Buffer.alloc(0) } } } satisfies GetFileResponse;
        await new Promise((r) => setTimeout(r, 2));
      }
    },
    async putFile(reqs) {
      let bytes = 0;
      let path = '';
      for await (const r of reqs) {
        if (r.payload?.$case === 'header') path = r.payload.value.path;
        if (r.payload?.$case === 'chunk') bytes += r.payload.value.data.length;
      }
      return { info: { path, size: bytes, modifiedAt: undefined, contentType: '', etag: '', directory: false } };
    },
    async listFiles() { throw notFound('nothing'); },
    async deleteFile() { return {}; },
    async *readImage() { /* no messages */ },
    async *readImages() { /* no messages */ },
    async putFiles() { return { files: 0, bytes: 0 }; },
  }, { middleware: [trace, deny] });
}

test('handlers, middleware, errors, streams and cancellation over a real grpc-js connection', async (t) => {
  const events: string[] = [];
  const seen: { cancelled?: boolean } = {};
  const server = await startServer({
    name: 'fixture', host: '127.0.0.1', port: 0, logger,
    services: [{ name: 'aide.v1.FileService', definition: FileServiceService, implementation: fixture(events, seen) }],
  });
  t.after(() => server.shutdown(1000));
  const client = createClient(FileServiceService, server.address);
  t.after(() => client.close());

  const ok = await client.statFile({ project: 'p', path: 'a.jpg' });
  assert.equal(ok.info?.path, 'a.jpg');
  assert.deepEqual(events.slice(0, 2), ['before /aide.v1.FileService/StatFile', 'after /aide.v1.FileService/StatFile']);

  await assert.rejects(client.statFile({ project: 'p', path: 'bad' }), (err: unknown) => {
    assert.ok(isAideError(err, 'INVALID_ARGUMENT'));
    assert.deepEqual(err.fieldViolations.map((v) => v.field), ['path', 'project']);
    return true;
  });
  await assert.rejects(client.statFile({ project: 'p', path: 'missing' }), (e: unknown) => isAideError(e, 'NOT_FOUND'));
  await assert.rejects(client.statFile({ project: 'p', path: 'boom' }), (e: unknown) => isAideError(e, 'INTERNAL') && /model exploded/.test(e.message));
  // A database connection lost under the call (pg_terminate_backend, a restart) is UNAVAILABLE, not a bug.
  for (const path of ['db-gone', 'db-cut']) {
    await assert.rejects(client.statFile({ project: 'p', path }), (e: unknown) => isAideError(e, 'UNAVAILABLE') && /database connection was lost/.test(e.message), path);
  }
  const denied = new (await import('@grpc/grpc-js')).Metadata();
  denied.set('x-deny', '1');
  await assert.rejects(client.statFile({ project: 'p', path: 'a' }, { metadata: denied }), (e: unknown) => isAideError(e, 'PERMISSION_DENIED'));

  // server stream: a bounded one ends, values arrive in order
  const got: number[] = [];
  for await (const m of client.getFile({ project: 'p', path: 'x', offset: 0, length: 20 })) {
    if (m.payload?.$case === 'chunk') got.push(m.payload.value.data[0]!);
  }
  assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i));

  // client stream
  async function* puts(): AsyncGenerator<PutFileRequest> {
    yield { payload: { $case: 'header', value: { project: 'p', path: 'up.bin', size: 30 } } };
    for (let i = 0; i < 3; i++) yield { payload: { $case: 'chunk', value: { offset: i * 10, totalSize: 30, data: Buffer.alloc(10), sha256: Buffer.alloc(0) } } };
  }
  const put = await client.putFile(puts());
  assert.equal(put.info?.size, 30);
  assert.equal(put.info?.path, 'up.bin');

  // cancellation: the client aborts an endless stream; the server's ctx.signal fires
  const ac = new AbortController();
  let received = 0;
  await assert.rejects(async () => {
    for await (const _ of client.getFile({ project: 'p', path: 'endless', offset: 0, length: 0 }, { signal: ac.signal })) {
      if (++received === 5) ac.abort();
    }
  }, (e: unknown) => isAideError(e, 'CANCELLED'));
  for (let i = 0; i < 100 && !seen.cancelled; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(seen.cancelled, true, 'server handler saw the cancellation');

  // deadline → DEADLINE_EXCEEDED
  await assert.rejects(async () => {
    for await (const _ of client.getFile({ project: 'p', path: 'endless', offset: 0, length: 0 }, { deadline: 100 })) { /* drain */ }
  }, (e: unknown) => isAideError(e, 'DEADLINE_EXCEEDED'));
});

test('health reports SERVING per service and NOT_SERVING while draining; reflection lists and describes', async () => {
  const server = await startServer({
    name: 'fixture', host: '127.0.0.1', port: 0, logger,
    services: [{ name: 'aide.v1.FileService', definition: FileServiceService, implementation: fixture([], {}) }],
  });
  assert.equal(await checkHealth(server.address), 'SERVING');
  assert.equal(await checkHealth(server.address, 'aide.v1.FileService'), 'SERVING');
  assert.deepEqual(await listServices(server.address), ['aide.v1.FileService', 'grpc.health.v1.Health']);
  const methods = await describeService(server.address, 'aide.v1.FileService');
  const put = methods.find((m) => m.name === 'PutFile');
  assert.ok(put && put.clientStreaming && !put.serverStreaming);
  assert.equal(put.input, '.aide.v1.PutFileRequest');
  assert.deepEqual(methods.map((m) => m.name).sort(), ['DeleteFile', 'GetFile', 'ListFiles', 'PutFile', 'PutFiles', 'ReadImage', 'ReadImages', 'StatFile']);
  server.setStatus('aide.v1.FileService', 'NOT_SERVING');
  assert.equal(await checkHealth(server.address, 'aide.v1.FileService'), 'NOT_SERVING');
  await server.shutdown(1000);
});

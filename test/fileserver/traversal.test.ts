import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AideError } from '../../libs/errors.js';
import { toChunks } from '../../libs/blob/index.js';
import type { PutFileRequest } from '../../libs/gen/aide/v1/fileserver.js';
import { encodePath, httpGet, INSIDE_LINKS, LEGIT_FILES, startFixture, type Fixture } from './fixture.js';
import { PROJECT_CORPUS, TRAVERSAL_CORPUS, type Refusal } from './traversal-corpus.js';

const GRPC_CODE: Record<Refusal, string> = { malformed: 'INVALID_ARGUMENT', hidden: 'NOT_FOUND' };
const HTTP_STATUS: Record<Refusal, number> = { malformed: 400, hidden: 404 };

async function drain<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of stream) out.push(item);
  return out;
}

async function grpcError(call: () => Promise<unknown>): Promise<AideError> {
  try {
    await call();
  } catch (err) {
    assert.ok(err instanceof AideError, `expected an AideError, got ${String(err)}`);
    return err;
  }
  assert.fail('the call succeeded');
}

async function* putRequests(project: string, name: string, content: Buffer): AsyncGenerator<PutFileRequest> {
  yield { payload: { $case: 'header', value: { project, path: name, size: content.byteLength } } };
  for await (const chunk of toChunks(content)) yield { payload: { $case: 'chunk', value: chunk } };
}

describe('path traversal', () => {
  let fx: Fixture;
  before(async () => { fx = await startFixture(); });
  after(async () => { await fx.close(); });

  it('has a corpus of at least 100 paths', () => {
    assert.ok(TRAVERSAL_CORPUS.length >= 100, `only ${TRAVERSAL_CORPUS.length} cases`);
  });

  it('refuses every corpus path over gRPC with the right code, naming no server path', async () => {
    for (const { path: p, expect } of TRAVERSAL_CORPUS) {
      for (const call of [
        () => drain(fx.grpc.getFile({ project: 'alpha', path: p, offset: 0, length: 0 })),
        () => fx.grpc.statFile({ project: 'alpha', path: p }),
      ]) {
        const err = await grpcError(call);
        assert.equal(err.kind, GRPC_CODE[expect], `${JSON.stringify(p)}: ${err.message}`);
        assert.ok(!err.message.includes(fx.tmp), `${JSON.stringify(p)} leaks a server path: ${err.message}`);
      }
    }
  });

  it('refuses every corpus path over HTTP with the right status, naming no server path', async () => {
    for (const { path: p, expect } of TRAVERSAL_CORPUS) {
      const res = await httpGet(fx.httpPort, `/files/alpha/${encodePath(p)}`);
      assert.equal(res.status, HTTP_STATUS[expect], `${JSON.stringify(p)}: ${res.body.toString()}`);
      assert.ok(!res.body.toString().includes(fx.tmp), `${JSON.stringify(p)} leaks a server path`);
    }
  });

  it('refuses raw URLs whose escapes or dot segments would climb out', async () => {
    const raw: Array<[string, number]> = [
      ['/files/alpha/../beta/secret.txt', 400],
      ['/files/alpha/../../outside/secret.txt', 400],
      ['/files/alpha/%2e%2e/beta/secret.txt', 400],
      ['/files/alpha/%2E%2E%2Fbeta%2Fsecret.txt', 400],
      ['/files/alpha/..%2Fbeta%2Fsecret.txt', 400],
      ['/files/alpha/..%5Cbeta%5Csecret.txt', 400],
      ['/files/alpha/%252e%252e/beta/secret.txt', 404],
      ['/files/alpha/%252e%252e%252fbeta%252fsecret.txt', 404],
      ['/files/alpha/%c0%ae%c0%ae/beta/secret.txt', 400],
      ['/files/alpha/%e0%80%ae%e0%80%ae/beta/secret.txt', 400],
      ['/files/alpha/%2', 400],
      ['/files/alpha/hello.txt%00.png', 400],
      ['/files/%2e%2e/outside/secret.txt', 400],
      ['/files/alpha%2f..%2fbeta/secret.txt', 400],
      ['/files/alpha/link-etc-passwd', 404],
      ['/files/..%2f..%2fetc%2fpasswd', 400],
      ['/files/alpha//etc/passwd', 400],
      ['/files/alpha/./hello.txt', 400],
      ['/files/alpha/a/b/c/../../../hello.txt', 400],
      ['/etc/passwd', 404],
      ['/files/../etc/passwd', 400],
    ];
    for (const [url, status] of raw) {
      const res = await httpGet(fx.httpPort, url);
      assert.equal(res.status, status, `${url}: ${res.body.toString()}`);
    }
  });

  it('refuses malformed and unknown projects on both transports', async () => {
    for (const { project, expect } of PROJECT_CORPUS) {
      const err = await grpcError(() => fx.grpc.statFile({ project, path: 'hello.txt' }));
      assert.equal(err.kind, GRPC_CODE[expect], `project ${JSON.stringify(project)}: ${err.message}`);
      const res = await httpGet(fx.httpPort, `/files/${encodeURIComponent(project)}/hello.txt`);
      assert.equal(res.status, HTTP_STATUS[expect], `project ${JSON.stringify(project)}: ${res.body.toString()}`);
    }
  });

  it('serves legitimate odd names and inside symlinks on both transports', async () => {
    // The NFD spelling of a name finds the file stored under its NFC spelling.
    const served = { ...LEGIT_FILES, ...INSIDE_LINKS, ['ünïcødé.txt'.normalize('NFD')]: 'nfc name' };
    for (const [name, content] of Object.entries(served)) {
      const messages = await drain(fx.grpc.getFile({ project: 'alpha', path: name, offset: 0, length: 0 }));
      const bytes = Buffer.concat(messages.flatMap((m) => (m.payload?.$case === 'chunk' ? [m.payload.value.data] : [])));
      assert.equal(bytes.toString(), content, `gRPC ${name}`);
      const res = await httpGet(fx.httpPort, `/files/alpha/${encodePath(name)}`);
      assert.equal(res.status, 200, `HTTP ${name}: ${res.body.toString()}`);
      assert.equal(res.body.toString(), content, `HTTP ${name}`);
    }
  });

  it('refuses puts whose folders lead out, creating nothing outside', async () => {
    const escapes = [
      'link-outdir/new.txt', 'link-outdir/sub/new.txt', 'link-other-project-dir/new.txt', 'link-root/new.txt',
      'link-root/beta/new.txt', 'a/link-up/new.txt', 'link-dangling-out/new.txt', 'link-etc/new.txt', 'link-loop/new.txt',
    ];
    for (const name of escapes) {
      const err = await grpcError(() => fx.grpc.putFile(putRequests('alpha', name, Buffer.from('x'))));
      assert.equal(err.kind, 'NOT_FOUND', `${name}: ${err.message}`);
    }
    for (const { path: p, expect } of TRAVERSAL_CORPUS.filter((c) => c.expect === 'malformed')) {
      const err = await grpcError(() => fx.grpc.putFile(putRequests('alpha', p, Buffer.from('x'))));
      assert.equal(err.kind, 'INVALID_ARGUMENT', `${JSON.stringify(p)} (${expect}): ${err.message}`);
    }
    assert.deepEqual(await readdir(fx.outside), ['secret.txt']);
    assert.deepEqual((await readdir(fx.root)).sort(), ['alpha', 'beta', 'toplevel.txt']);
    assert.deepEqual(await readdir(path.join(fx.root, 'beta')), ['secret.txt']);
  });

  it('a put onto a symlink replaces the link, never writes through it', async () => {
    await fx.grpc.putFile(putRequests('alpha', 'link-other-project.txt', Buffer.from('replaced')));
    assert.equal(await readFile(path.join(fx.root, 'beta', 'secret.txt'), 'utf8'), 'beta secret');
    assert.equal(await readFile(path.join(fx.root, 'alpha', 'link-other-project.txt'), 'utf8'), 'replaced');
  });

  it('deletes only inside the project; deleting a link leaves its target', async () => {
    for (const name of ['link-outdir/secret.txt', 'link-root/toplevel.txt', 'link-other-project-dir/secret.txt', '../beta/secret.txt']) {
      const err = await grpcError(() => fx.grpc.deleteFile({ project: 'alpha', path: name }));
      assert.ok(['NOT_FOUND', 'INVALID_ARGUMENT'].includes(err.kind), `${name}: ${err.kind}`);
    }
    await fx.grpc.deleteFile({ project: 'alpha', path: 'link-etc-passwd' });
    await stat('/etc/passwd');
    await stat(path.join(fx.outside, 'secret.txt'));
    await stat(path.join(fx.root, 'toplevel.txt'));
  });
});

describe('a project folder that is itself a symlink (say, to another disk)', () => {
  let fx: Fixture;
  before(async () => {
    fx = await startFixture();
    // <root>/gamma → <tmp>/disk2/gamma, holding a file, a link within it, and links out of it.
    const disk = path.join(fx.tmp, 'disk2', 'gamma');
    await mkdir(disk, { recursive: true });
    await writeFile(path.join(disk, 'own.txt'), 'gamma own');
    await symlink('own.txt', path.join(disk, 'link-own.txt'));
    await symlink(path.join(fx.root, 'alpha', 'hello.txt'), path.join(disk, 'link-alpha.txt'));
    await symlink(path.join(fx.outside, 'secret.txt'), path.join(disk, 'link-outside.txt'));
    await symlink(path.join(fx.root, 'gamma-lexical.txt'), path.join(disk, 'link-lexical.txt'));
    await writeFile(path.join(fx.root, 'gamma-lexical.txt'), 'root secret');
    await symlink(disk, path.join(fx.root, 'gamma'));
  });
  after(async () => { await fx.close(); });

  it('serves what lies where it leads, nothing elsewhere, on both transports', async () => {
    const cases: Array<[string, string | undefined]> = [
      ['own.txt', 'gamma own'], ['link-own.txt', 'gamma own'],
      ['link-alpha.txt', undefined], ['link-outside.txt', undefined], ['link-lexical.txt', undefined],
    ];
    for (const [name, content] of cases) {
      const res = await httpGet(fx.httpPort, `/files/gamma/${name}`);
      const grpc = await drain(fx.grpc.getFile({ project: 'gamma', path: name, offset: 0, length: 0 })).then(
        (messages) => Buffer.concat(messages.flatMap((m) => (m.payload?.$case === 'chunk' ? [m.payload.value.data] : []))).toString(),
        (err: unknown) => (err instanceof AideError ? err.kind : String(err)),
      );
      if (content === undefined) {
        assert.equal(res.status, 404, `HTTP ${name}`);
        assert.equal(grpc, 'NOT_FOUND', `gRPC ${name}`);
      } else {
        assert.equal(res.body.toString(), content, `HTTP ${name}`);
        assert.equal(grpc, content, `gRPC ${name}`);
      }
    }
  });
});

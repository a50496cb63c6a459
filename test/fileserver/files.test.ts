import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toChunks } from '../../libs/blob/index.js';
import { AideError } from '../../libs/errors.js';
import { FileServerClient } from '../../libs/fileserver-client/index.js';
import type { PutFileRequest } from '../../libs/gen/aide/v1/fileserver.js';
import { startFixture, type Fixture } from './fixture.js';

async function rejectsWith(promise: Promise<unknown>, kind: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof AideError && err.kind === kind);
}

/** Every entry under dir, temp files included, symlinks not followed: proof that nothing was left behind. */
async function tree(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    out.push(prefix + entry.name);
    if (entry.isDirectory()) out.push(...await tree(path.join(dir, entry.name), `${prefix}${entry.name}/`));
  }
  return out.sort();
}

describe('FileService over gRPC, through FileServerClient', () => {
  let fx: Fixture;
  let files: FileServerClient;
  before(async () => {
    fx = await startFixture({ store: { maxPutBytes: 1024 * 1024, chunkSize: 64 * 1024 } });
    files = new FileServerClient({ project: 'alpha', client: fx.grpc });
  });
  after(async () => { await fx.close(); });

  it('getFile: bytes, or null when missing, malformed or outside', async () => {
    assert.equal((await files.getFile('hello.txt'))?.toString(), 'hello alpha');
    assert.equal(await files.getFile('missing.txt'), null);
    assert.equal(await files.getFile('../beta/secret.txt'), null);
    assert.equal(await files.getFile('link-etc-passwd'), null);
    const other = new FileServerClient({ project: 'Not A Project', client: fx.grpc });
    assert.equal(await other.getFile('hello.txt'), null);
  });

  it('put then get round-trips, multi-chunk, with info', async () => {
    const content = randomBytes(300_000);
    const info = await files.putFile('new/dir/blob.bin', content);
    assert.equal(info.size, content.length);
    assert.equal(info.path, 'new/dir/blob.bin');
    assert.deepEqual(await files.getFile('new/dir/blob.bin'), content);
    const streamed = await files.putFile('streamed.bin', (async function* () {
      for (let i = 0; i < content.length; i += 7000) yield content.subarray(i, i + 7000);
    })(), { size: content.length });
    assert.equal(streamed.size, content.length);
    assert.deepEqual(await readFile(path.join(fx.root, 'alpha', 'streamed.bin')), content);
    assert.equal((await files.putFile('empty.txt', Buffer.alloc(0))).size, 0);
    assert.deepEqual(await files.getFile('empty.txt'), Buffer.alloc(0));
  });

  it('byte ranges: offset and length', async () => {
    const content = randomBytes(200_000);
    await files.putFile('range.bin', content);
    const read = async (offset: number, length: number) => {
      const parts: Buffer[] = [];
      for await (const m of fx.grpc.getFile({ project: 'alpha', path: 'range.bin', offset, length })) {
        if (m.payload?.$case === 'chunk') parts.push(m.payload.value.data);
      }
      return Buffer.concat(parts);
    };
    assert.deepEqual(await read(1000, 5000), content.subarray(1000, 6000));
    assert.deepEqual(await read(150_000, 0), content.subarray(150_000));
    assert.deepEqual(await read(199_990, 100), content.subarray(199_990));
    assert.deepEqual(await read(200_000, 0), Buffer.alloc(0));
    await rejectsWith(read(200_001, 0), 'INVALID_ARGUMENT');
  });

  it('stat: info, null for missing; folders are directories', async () => {
    const info = await files.stat('a/b/c/deep.txt');
    assert.equal(info?.size, 'nested'.length);
    assert.equal(info?.contentType, 'text/plain');
    assert.ok(info?.etag);
    assert.ok(info?.modifiedAt instanceof Date);
    assert.equal((await files.stat('a/b'))?.directory, true);
    assert.equal(await files.stat('nope'), null);
    await rejectsWith(fx.grpc.getFile({ project: 'alpha', path: 'a/b', offset: 0, length: 0 })[Symbol.asyncIterator]().next(), 'FAILED_PRECONDITION');
  });

  it('put over the size limit → RESOURCE_EXHAUSTED, nothing written', async () => {
    const before = await tree(fx.root);
    await rejectsWith(files.putFile('big.bin', Buffer.alloc(1024 * 1024 + 1)), 'RESOURCE_EXHAUSTED');
    assert.deepEqual(await tree(fx.root), before);
  });

  it('bad checksum → DATA_LOSS; truncated or lying stream → refused; the old file stays, no temp left', async () => {
    await files.putFile('keep.txt', Buffer.from('original'));
    const before = await tree(fx.root);
    const content = randomBytes(100_000);
    const header: PutFileRequest = { payload: { $case: 'header', value: { project: 'alpha', path: 'keep.txt', size: content.length } } };
    const chunks = [];
    for await (const c of toChunks(content, { chunkSize: 30_000 })) chunks.push(c);

    const corrupt = chunks.map((c, i) => (i === chunks.length - 1 ? { ...c, sha256: createHash('sha256').update('x').digest() } : c));
    await rejectsWith(fx.grpc.putFile([header, ...corrupt.map((value) => ({ payload: { $case: 'chunk' as const, value } }))]), 'DATA_LOSS');

    const flipped = chunks.map((c, i) => (i === 1 ? { ...c, data: Buffer.from(c.data).fill(0, 0, 10) } : c));
    await rejectsWith(fx.grpc.putFile([header, ...flipped.map((value) => ({ payload: { $case: 'chunk' as const, value } }))]), 'DATA_LOSS');

    await rejectsWith(fx.grpc.putFile([header, ...chunks.slice(0, 2).map((value) => ({ payload: { $case: 'chunk' as const, value } }))]), 'DATA_LOSS');

    const lying: PutFileRequest = { payload: { $case: 'header', value: { project: 'alpha', path: 'keep.txt', size: 10 } } };
    await rejectsWith(fx.grpc.putFile([lying, ...chunks.map((value) => ({ payload: { $case: 'chunk' as const, value } }))]), 'DATA_LOSS');

    await rejectsWith(fx.grpc.putFile([...chunks.map((value) => ({ payload: { $case: 'chunk' as const, value } }))]), 'INVALID_ARGUMENT');
    await rejectsWith(fx.grpc.putFile([header, ...chunks.map((value) => ({ payload: { $case: 'chunk' as const, value } })), header]), 'INVALID_ARGUMENT');

    // The client gives up mid-stream.
    const controller = new AbortController();
    await assert.rejects(fx.grpc.putFile((async function* () {
      yield header;
      yield { payload: { $case: 'chunk' as const, value: chunks[0]! } };
      controller.abort();
      await new Promise((r) => setTimeout(r, 50));
    })(), { signal: controller.signal }));
    await new Promise((r) => setTimeout(r, 100));

    assert.equal((await files.getFile('keep.txt'))?.toString(), 'original');
    assert.deepEqual(await tree(fx.root), before);
  });

  it('list: folders and files, prefixes, recursion, pages that cover everything once', async () => {
    const names = Array.from({ length: 25 }, (_, i) => `listing/img_${String(i).padStart(2, '0')}.jpg`);
    for (const n of names) await files.putFile(n, Buffer.from(n));
    await files.putFile('listing/sub/inner.jpg', Buffer.from('inner'));
    await files.putFile('listing/sub/deeper/x.jpg', Buffer.from('x'));
    await files.putFile('listing/other.txt', Buffer.from('o'));

    const all = [];
    for await (const f of files.list('listing/', { pageSize: 4 })) all.push(f);
    assert.deepEqual(all.map((f) => f.path), [...names, 'listing/other.txt', 'listing/sub']);
    assert.equal(all.at(-1)?.directory, true);

    const recursive = [];
    for await (const f of files.list('listing/', { recursive: true, pageSize: 3 })) recursive.push(f.path);
    assert.deepEqual(recursive, [...names, 'listing/other.txt', 'listing/sub/deeper/x.jpg', 'listing/sub/inner.jpg']);

    const prefixed = [];
    for await (const f of files.list('listing/img_1')) prefixed.push(f.path);
    assert.deepEqual(prefixed, names.slice(10, 20));

    const root = [];
    for await (const f of files.list('', { recursive: true })) root.push(f.path);
    assert.ok(root.includes('a/b/c/deep.txt') && root.includes('link-inside.txt'));
    for (const hidden of ['link-etc-passwd', 'link-other-project.txt', 'link-outdir', 'link-root', 'link-loop']) {
      assert.ok(!root.some((p) => p.startsWith(hidden)), `${hidden} is listed`);
    }
    assert.ok(!root.some((p) => p.startsWith('link-dir-inside/')), 'symlinked folders are not descended');

    const empty = [];
    for await (const f of files.list('no/such/folder/')) empty.push(f);
    assert.deepEqual(empty, []);
    await rejectsWith(fx.grpc.listFiles({ project: 'alpha', prefix: '../beta/', recursive: false, pageSize: 0, pageToken: '' }), 'INVALID_ARGUMENT');
    await rejectsWith(fx.grpc.listFiles({ project: 'alpha', prefix: '', recursive: false, pageSize: 0, pageToken: 'garbage' }), 'INVALID_ARGUMENT');
    const page = await fx.grpc.listFiles({ project: 'alpha', prefix: 'listing/', recursive: false, pageSize: 2, pageToken: '' });
    await rejectsWith(fx.grpc.listFiles({ project: 'alpha', prefix: '', recursive: false, pageSize: 2, pageToken: page.nextPageToken }), 'INVALID_ARGUMENT');
  });

  it('a page token survives the deletion of the entry it points after', async () => {
    const page = await fx.grpc.listFiles({ project: 'alpha', prefix: 'listing/', recursive: true, pageSize: 5, pageToken: '' });
    await files.delete(page.files.at(-1)!.path);
    const next = await fx.grpc.listFiles({ project: 'alpha', prefix: 'listing/', recursive: true, pageSize: 5, pageToken: page.nextPageToken });
    assert.equal(next.files[0]?.path, 'listing/img_05.jpg');
  });

  it('delete: file gone; missing → NOT_FOUND; folders refused', async () => {
    await files.putFile('doomed.txt', Buffer.from('bye'));
    await files.delete('doomed.txt');
    assert.equal(await files.getFile('doomed.txt'), null);
    await rejectsWith(files.delete('doomed.txt'), 'NOT_FOUND');
    await rejectsWith(files.delete('a'), 'FAILED_PRECONDITION');
  });
});

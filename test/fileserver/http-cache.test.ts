/**
 * The HTTP edge's cache of small files: what it saves (open/read/close) never
 * includes a check. Every request is still authorized and confined (an lstat
 * of each level proving a path free of links, else a realpath), and a cached
 * version is served only while the file on disk is that version.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FileServerClient } from '../../libs/fileserver-client/index.js';
import { FileCache } from '../../services/fileserver/file-cache.js';
import { lexicalPath, plainFile } from '../../libs/files/safe-path.js';
import { httpGet, startFixture, type Fixture } from './fixture.js';

describe('HTTP cache of small files', () => {
  let fx: Fixture;
  let files: FileServerClient;
  const get = (file: string, headers = {}) => httpGet(fx.httpPort, `/files/${file}`, headers);

  before(async () => {
    fx = await startFixture({
      authorize: async (req, project) => project !== 'beta' || (req.headers.authorization === 'Bearer ok' || 'unauthenticated'),
    });
    files = new FileServerClient({ project: 'alpha', client: fx.grpc });
  });
  after(async () => { await fx.close(); });

  /** Serves the file twice (the second from the cache) and checks both. */
  async function cached(file: string, expected: Buffer): Promise<string> {
    for (let i = 0; i < 2; i++) {
      const res = await get(file);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, expected);
    }
    return (await get(file)).headers.etag!;
  }

  it('a put of the same size replaces the cached version at once', async () => {
    const v1 = randomBytes(5000);
    const v2 = randomBytes(5000);
    await files.putFile('c/put.jpg', v1);
    const tag1 = await cached('alpha/c/put.jpg', v1);
    await files.putFile('c/put.jpg', v2);
    const res = await get('alpha/c/put.jpg');
    assert.deepEqual(res.body, v2);
    assert.notEqual(res.headers.etag, tag1);
    assert.equal((await get('alpha/c/put.jpg', { 'If-None-Match': tag1 })).status, 200, 'the old tag no longer matches');
  });

  it('an in-place rewrite of the same size is served new', async () => {
    const file = path.join(fx.root, 'alpha', 'c', 'inplace.bin');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, 'version one');
    await cached('alpha/c/inplace.bin', Buffer.from('version one'));
    // File times tick at the kernel's clock granularity (a few ms): let one pass, as any real later write does.
    await sleep(30);
    await writeFile(file, 'version two');
    assert.equal((await get('alpha/c/inplace.bin')).body.toString(), 'version two');
  });

  it('a cached file replaced by a symlink pointing out of the project is refused', async () => {
    const file = path.join(fx.root, 'alpha', 'c', 'swap.txt');
    await writeFile(file, 'inside');
    await cached('alpha/c/swap.txt', Buffer.from('inside'));
    await rm(file);
    await symlink(path.join(fx.outside, 'secret.txt'), file);
    assert.equal((await get('alpha/c/swap.txt')).status, 404);
  });

  it('a cached file whose folder becomes a symlink out of the project is refused', async () => {
    const dir = path.join(fx.root, 'alpha', 'moved');
    await mkdir(dir);
    await writeFile(path.join(dir, 'secret.txt'), 'outside secret');
    await cached('alpha/moved/secret.txt', Buffer.from('outside secret'));
    // Same content and name on the other side: only the path check can tell them apart.
    await rename(dir, path.join(fx.tmp, 'moved-out'));
    await symlink(path.join(fx.tmp, 'moved-out'), dir);
    assert.equal((await get('alpha/moved/secret.txt')).status, 404);
  });

  it('a cached file replaced by a symlink out of the project is refused', async () => {
    const file = path.join(fx.root, 'alpha', 'c', 'swapped.txt');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, 'same words');
    await cached('alpha/c/swapped.txt', Buffer.from('same words'));
    const outside = path.join(fx.tmp, 'swapped-outside.txt');
    await writeFile(outside, 'same words');
    await rm(file);
    await symlink(outside, file);
    assert.equal((await get('alpha/c/swapped.txt')).status, 404);
  });

  it('a file behind a symlink inside the project is served and cached until the link points out', async () => {
    const dir = path.join(fx.root, 'alpha', 'links');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'real.txt'), 'linked words');
    await symlink(path.join(dir, 'real.txt'), path.join(dir, 'link.txt'));
    await cached('alpha/links/link.txt', Buffer.from('linked words'));
    const outside = path.join(fx.tmp, 'link-outside.txt');
    await writeFile(outside, 'linked words');
    await rm(path.join(dir, 'link.txt'));
    await symlink(outside, path.join(dir, 'link.txt'));
    assert.equal((await get('alpha/links/link.txt')).status, 404);
  });

  it('a cached file that was deleted is gone', async () => {
    await files.putFile('c/deleted.txt', Buffer.from('soon gone'));
    await cached('alpha/c/deleted.txt', Buffer.from('soon gone'));
    await files.delete('c/deleted.txt');
    assert.equal((await get('alpha/c/deleted.txt')).status, 404);
  });

  it('a cached file is still authorized on every request', async () => {
    assert.equal((await get('beta/secret.txt', { Authorization: 'Bearer ok' })).body.toString(), 'beta secret');
    assert.equal((await get('beta/secret.txt', { Authorization: 'Bearer ok' })).status, 200);
    assert.equal((await get('beta/secret.txt')).status, 401);
    assert.equal((await get('beta/secret.txt', { Authorization: 'Bearer bad' })).status, 401);
  });

  it('ranges, HEAD and 304 come from the cached version', async () => {
    const body = randomBytes(3000);
    await files.putFile('c/range.bin', body);
    const etag = await cached('alpha/c/range.bin', body);
    const part = await get('alpha/c/range.bin', { Range: 'bytes=100-199' });
    assert.deepEqual([part.status, part.headers['content-range']], [206, 'bytes 100-199/3000']);
    assert.deepEqual(part.body, body.subarray(100, 200));
    const head = await httpGet(fx.httpPort, '/files/alpha/c/range.bin', {}, 'HEAD');
    assert.deepEqual([head.status, head.headers['content-length'], head.body.length], [200, '3000', 0]);
    assert.equal((await get('alpha/c/range.bin', { 'If-None-Match': etag })).status, 304);
  });
});

describe('FileCache', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(path.join(tmpdir(), 'aide-cache-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  async function file(name: string, bytes: number): Promise<{ absolute: string; stats: BigIntStats; data: Buffer }> {
    const absolute = path.join(dir, name);
    const data = randomBytes(bytes);
    await writeFile(absolute, data);
    return { absolute, stats: await stat(absolute, { bigint: true }), data };
  }

  it('holds at most its budget, dropping the least recently used first', async () => {
    const cache = new FileCache(250);
    const [a, b, c] = [await file('a', 100), await file('b', 100), await file('c', 100)];
    cache.admit(a.absolute, a);
    cache.admit(b.absolute, b);
    assert.equal(cache.lookup(a.absolute)?.data, a.data, 'a is used again: b is now the oldest');
    cache.admit(c.absolute, c);
    assert.equal(cache.bytes, 200);
    assert.equal(cache.lookup(b.absolute), undefined);
    assert.equal(cache.lookup(a.absolute)?.data, a.data);
    assert.equal(cache.lookup(c.absolute)?.data, c.data);
    cache.admit('/too/big', { stats: a.stats, data: Buffer.alloc(251) });
    assert.equal(cache.bytes, 200, 'a file over the whole budget is not kept');
  });

  it('drops an entry whose file changed or vanished', async () => {
    const cache = new FileCache(1000);
    const a = await file('changing', 100);
    cache.admit(a.absolute, a);
    await sleep(30);
    await writeFile(a.absolute, randomBytes(100));
    assert.equal(cache.lookup(a.absolute), undefined);
    assert.equal(cache.bytes, 0);
    const b = await file('vanishing', 100);
    cache.admit(b.absolute, b);
    await rm(b.absolute);
    assert.equal(cache.lookup(b.absolute), undefined);
    assert.equal(cache.bytes, 0);
  });
});

describe("plainFile (the HTTP cache's fast path)", () => {
  it('gives the lstat of a file reached without links, and nothing for a link, a linked folder, a folder or a missing file', async () => {
    const tmp = await mkdtemp(path.join(tmpdir(), 'plain-'));
    try {
      const root = path.join(tmp, 'root');
      await mkdir(path.join(root, 'p', 'a'), { recursive: true });
      await writeFile(path.join(root, 'p', 'a', 'f.txt'), 'x');
      await symlink(path.join(root, 'p', 'a', 'f.txt'), path.join(root, 'p', 'a', 'l.txt'));
      await symlink(path.join(root, 'p', 'a'), path.join(root, 'p', 'linked'));
      await mkdir(path.join(tmp, 'elsewhere', 'a'), { recursive: true });
      await writeFile(path.join(tmp, 'elsewhere', 'a', 'f.txt'), 'x');
      await symlink(path.join(tmp, 'elsewhere'), path.join(root, 'q'));
      const at = lexicalPath(root, 'p', ['a', 'f.txt']);
      assert.deepEqual(at, { folders: [path.join(root, 'p'), path.join(root, 'p', 'a')], file: path.join(root, 'p', 'a', 'f.txt') });
      assert.equal(plainFile(at)?.ino, (await stat(path.join(root, 'p', 'a', 'f.txt'), { bigint: true })).ino);
      for (const [project, segments] of [['p', ['a', 'l.txt']], ['p', ['linked', 'f.txt']], ['q', ['a', 'f.txt']], ['p', ['a']], ['p', ['a', 'none.txt']], ['none', ['f.txt']]] as const) {
        assert.equal(plainFile(lexicalPath(root, project, segments)), undefined, `${project}/${segments.join('/')}`);
      }
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});

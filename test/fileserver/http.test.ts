import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpGet, startFixture, type Fixture } from './fixture.js';

describe('HTTP /files/', () => {
  let fx: Fixture;
  const body = randomBytes(10_000);
  const url = '/files/alpha/photos/img.jpg';
  const modified = new Date('2024-03-01T12:00:00Z');

  before(async () => {
    fx = await startFixture({
      authorize: async (req, project) => {
        if (project !== 'beta') return true;
        return req.headers.authorization === undefined ? 'unauthenticated' : req.headers.authorization === 'Bearer ok';
      },
    });
    const file = path.join(fx.root, 'alpha', 'photos', 'img.jpg');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, body);
    await utimes(file, modified, modified);
  });
  after(async () => { await fx.close(); });

  it('serves the bytes with type, length, validators and range support', async () => {
    const res = await httpGet(fx.httpPort, url);
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, body);
    assert.equal(res.headers['content-type'], 'image/jpeg');
    assert.equal(res.headers['content-length'], String(body.length));
    assert.equal(res.headers['last-modified'], modified.toUTCString());
    assert.equal(res.headers['accept-ranges'], 'bytes');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(res.headers.etag ?? '', /^"[^"]+"$/, 'a strong ETag');
  });

  it('content types follow the name', async () => {
    const cases: Array<[string, string]> = [['hello.txt', 'text/plain'], ['foo..jpg', 'image/jpeg'], ['emoji😀.png', 'image/png'],
      ['x.unknownext', 'application/octet-stream']];
    for (const [name, type] of cases) {
      const res = await httpGet(fx.httpPort, `/files/alpha/${encodeURIComponent(name)}`);
      assert.equal(res.headers['content-type'], type, name);
    }
  });

  it('HEAD: the same headers, no body', async () => {
    const get = await httpGet(fx.httpPort, url);
    const head = await httpGet(fx.httpPort, url, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    for (const h of ['content-type', 'content-length', 'etag', 'last-modified']) assert.equal(head.headers[h], get.headers[h], h);
  });

  it('If-None-Match → 304; another tag → 200; a new version gets a new tag', async () => {
    const { headers } = await httpGet(fx.httpPort, url);
    const etag = headers.etag!;
    const cached = await httpGet(fx.httpPort, url, { 'If-None-Match': etag });
    assert.equal(cached.status, 304);
    assert.equal(cached.body.length, 0);
    assert.equal(cached.headers.etag, etag);
    assert.equal((await httpGet(fx.httpPort, url, { 'If-None-Match': `"other", ${etag}` })).status, 304);
    assert.equal((await httpGet(fx.httpPort, url, { 'If-None-Match': `W/${etag}` })).status, 304, 'weak comparison');
    assert.equal((await httpGet(fx.httpPort, url, { 'If-None-Match': '*' })).status, 304);
    assert.equal((await httpGet(fx.httpPort, url, { 'If-None-Match': '"stale"' })).status, 200);
    // If-None-Match wins over If-Modified-Since.
    assert.equal((await httpGet(fx.httpPort, url, { 'If-None-Match': '"stale"', 'If-Modified-Since': new Date().toUTCString() })).status, 200);

    await writeFile(path.join(fx.root, 'alpha', 'photos', 'v.txt'), 'new version');
    const v1 = (await httpGet(fx.httpPort, '/files/alpha/photos/v.txt')).headers.etag;
    await writeFile(path.join(fx.root, 'alpha', 'photos', 'v.txt'), 'new versioN');
    const v2 = (await httpGet(fx.httpPort, '/files/alpha/photos/v.txt')).headers.etag;
    assert.notEqual(v1, v2);
  });

  it('If-Modified-Since: 304 unless modified after', async () => {
    assert.equal((await httpGet(fx.httpPort, url, { 'If-Modified-Since': modified.toUTCString() })).status, 304);
    assert.equal((await httpGet(fx.httpPort, url, { 'If-Modified-Since': new Date(modified.getTime() + 5000).toUTCString() })).status, 304);
    assert.equal((await httpGet(fx.httpPort, url, { 'If-Modified-Since': new Date(modified.getTime() - 1000).toUTCString() })).status, 200);
    assert.equal((await httpGet(fx.httpPort, url, { 'If-Modified-Since': 'not a date' })).status, 200);
  });

  it('Range → 206 with Content-Range; unsatisfiable → 416', async () => {
    const cases: Array<[string, number, number]> = [
      ['bytes=0-99', 0, 99], ['bytes=100-', 100, body.length - 1], ['bytes=-500', body.length - 500, body.length - 1],
      ['bytes=9990-20000', 9990, body.length - 1], ['bytes=-20000', 0, body.length - 1], ['bytes=5-5', 5, 5],
    ];
    for (const [range, start, end] of cases) {
      const res = await httpGet(fx.httpPort, url, { Range: range });
      assert.equal(res.status, 206, range);
      assert.equal(res.headers['content-range'], `bytes ${start}-${end}/${body.length}`, range);
      assert.equal(res.headers['content-length'], String(end - start + 1), range);
      assert.deepEqual(res.body, body.subarray(start, end + 1), range);
    }
    for (const range of ['bytes=10000-', 'bytes=20000-30000', 'bytes=-0']) {
      const res = await httpGet(fx.httpPort, url, { Range: range });
      assert.equal(res.status, 416, range);
      assert.equal(res.headers['content-range'], `bytes */${body.length}`, range);
    }
    // Malformed or multiple ranges: the whole file.
    for (const range of ['bytes=5-1', 'items=0-1', 'bytes=0-1,5-6', 'bytes=abc']) {
      const res = await httpGet(fx.httpPort, url, { Range: range });
      assert.equal(res.status, 200, range);
      assert.equal(res.body.length, body.length, range);
    }
  });

  it('If-Range: the range only while the version is current', async () => {
    const { headers } = await httpGet(fx.httpPort, url);
    assert.equal((await httpGet(fx.httpPort, url, { Range: 'bytes=0-9', 'If-Range': headers.etag! })).status, 206);
    assert.equal((await httpGet(fx.httpPort, url, { Range: 'bytes=0-9', 'If-Range': '"old"' })).status, 200);
    assert.equal((await httpGet(fx.httpPort, url, { Range: 'bytes=0-9', 'If-Range': modified.toUTCString() })).status, 206);
  });

  it('authorize hook: 401 without credentials, 403 when refused, 200 when allowed', async () => {
    assert.equal((await httpGet(fx.httpPort, '/files/beta/secret.txt')).status, 401);
    const refused = await httpGet(fx.httpPort, '/files/beta/secret.txt', { Authorization: 'Bearer bad' });
    assert.equal(refused.status, 403);
    const allowed = await httpGet(fx.httpPort, '/files/beta/secret.txt', { Authorization: 'Bearer ok' });
    assert.equal(allowed.status, 200);
    assert.equal(allowed.body.toString(), 'beta secret');
    // Refused before the path is resolved: a missing file answers the same, confirming nothing.
    assert.equal((await httpGet(fx.httpPort, '/files/beta/missing.txt', { Authorization: 'Bearer bad' })).status, 403);
  });

  it('clients hanging up mid-body leak no descriptors', async () => {
    await writeFile(path.join(fx.root, 'alpha', 'photos', 'large.bin'), randomBytes(8 * 1024 * 1024));
    const openFds = async () => (await readdir('/proc/self/fd')).length;
    const before = await openFds();
    for (let i = 0; i < 30; i++) {
      await new Promise<void>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port: fx.httpPort, path: '/files/alpha/photos/large.bin', agent: false }, (res) => {
          res.once('data', () => { req.destroy(); resolve(); });
        });
        req.on('error', () => resolve());
      });
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(await openFds() <= before + 2, `descriptors: ${before} before, ${await openFds()} after`);
    assert.equal((await httpGet(fx.httpPort, url)).status, 200);
  });

  it('only GET and HEAD; folders are not served', async () => {
    const res = await httpGet(fx.httpPort, url, {}, 'DELETE');
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, 'GET, HEAD');
    assert.equal((await httpGet(fx.httpPort, '/files/alpha/photos')).status, 404);
    assert.equal((await httpGet(fx.httpPort, '/files/alpha/a/b')).status, 404);
  });
});

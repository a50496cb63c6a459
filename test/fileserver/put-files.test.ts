/**
 * PutFiles: a folder's worth of small files in one stream — byte-exact, a
 * message checked whole before any of its files is written, earlier
 * messages' files kept (and counted) when a later one fails, no temp files
 * left behind.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isAideError } from '../../libs/errors.js';
import { FileServerClient } from '../../libs/fileserver-client/index.js';
import { PUT_FILES_MAX_FILE } from '../../libs/fileserver-client/client.js';
import type { PutFilesEntry, PutFilesRequest } from '../../libs/gen/aide/v1/fileserver.js';
import { startFixture, type Fixture } from './fixture.js';

const entry = (p: string, content: Buffer, sha256 = createHash('sha256').update(content).digest()): PutFilesEntry => ({ path: p, content, sha256 });

describe('PutFiles', () => {
  let fx: Fixture;
  let files: FileServerClient;
  before(async () => {
    fx = await startFixture();
    files = new FileServerClient({ project: 'alpha', client: fx.grpc });
  });
  after(async () => { await fx.close(); });

  const onDisk = (p: string) => readFile(path.join(fx.root, 'alpha', p));
  // The folders these tests write (the fixture's project also holds symlink loops, not to be walked).
  const temps = async () => {
    const names = await Promise.all(['up', 'batch', 'ok'].map((d) => readdir(path.join(fx.root, 'alpha', d), { recursive: true }).catch(() => [])));
    return names.flat().filter((n) => n.endsWith('.aide-upload'));
  };
  const send = async (messages: PutFilesRequest[]) => {
    async function* requests() { yield* messages; }
    return fx.grpc.putFiles(requests());
  };

  it('thousands of small files in one stream, in several messages and folders, byte-exact; a large one through PutFile', async () => {
    const small = Array.from({ length: 1500 }, (_, i) => ({ path: `up/${i % 7}/f${i}.bin`, content: randomBytes(1000 + (i % 50)) }));
    const large = { path: 'up/large.tif', content: randomBytes(PUT_FILES_MAX_FILE + 1) };
    const all = [...small.slice(0, 700), large, ...small.slice(700)];
    let sent = 0;
    const res = await files.putFiles(all, { onSent: (n) => { sent = n; } });
    assert.deepEqual(res, { files: all.length, bytes: all.reduce((a, f) => a + f.content.length, 0) });
    assert.equal(sent, all.length);
    for (const f of [small[0]!, small[777]!, small[1499]!, large]) assert.deepEqual(await onDisk(f.path), f.content, f.path);
    assert.deepEqual(await temps(), []);
  });

  it('a message whose checksum does not match: DATA_LOSS, none of its files written, the earlier message\'s kept and counted', async () => {
    const good = entry('batch/a.bin', Buffer.from('first message'));
    const ok2 = entry('batch/b.bin', Buffer.from('second message, fine'));
    const corrupt = entry('batch/c.bin', Buffer.from('second message, corrupt'), createHash('sha256').update('something else').digest());
    await assert.rejects(send([{ project: 'alpha', files: [good] }, { project: '', files: [ok2, corrupt] }]),
      (e) => isAideError(e, 'DATA_LOSS') && /batch\/c\.bin/.test(e.message) && /after 1 files of earlier messages/.test(e.message));
    assert.equal((await onDisk('batch/a.bin')).toString(), 'first message');
    await assert.rejects(onDisk('batch/b.bin'), /ENOENT/, 'checked whole before any file of the message is written');
    assert.deepEqual(await temps(), []);
  });

  it('paths out of the project and a second project are refused, naming the field; nothing of that message written', async () => {
    await assert.rejects(send([{ project: 'alpha', files: [entry('ok/x.bin', Buffer.from('x')), entry('../beta/evil.bin', Buffer.from('y'))] }]),
      (e) => isAideError(e, 'INVALID_ARGUMENT') && e.fieldViolations[0]!.field === 'files[1].path');
    await assert.rejects(onDisk('ok/x.bin'), /ENOENT/);
    await assert.rejects(send([{ project: 'alpha', files: [entry('p/1.bin', Buffer.from('1'))] }, { project: 'beta', files: [entry('p/2.bin', Buffer.from('2'))] }]),
      (e) => isAideError(e, 'INVALID_ARGUMENT') && e.fieldViolations[0]!.field === 'project');
    await assert.rejects(readFile(path.join(fx.root, 'beta', 'p', '2.bin')), /ENOENT/);
  });

  it('an existing file is replaced whole', async () => {
    await files.putFiles([{ path: 'replace/me.txt', content: Buffer.from('old') }]);
    await files.putFiles([{ path: 'replace/me.txt', content: Buffer.from('new and longer') }]);
    assert.equal((await onDisk('replace/me.txt')).toString(), 'new and longer');
  });
});

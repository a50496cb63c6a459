import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { QueuedFileWriter } from '../../libs/blob/queued-writer.js';

test('QueuedFileWriter: pieces of every size, queued past its limit, land in order; a failed write fails the producer', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'aide-queued-writer-'));
  t.after(() => rm(dir, { recursive: true, force: true }));

  await t.test('20 MiB in pieces from 1 byte to 3 MiB, synced every 4 MiB: the file holds exactly the bytes pushed', async () => {
    const file = path.join(dir, 'a');
    const fh = await open(file, 'wx');
    const writer = new QueuedFileWriter(fh, { syncEvery: 4 << 20 });
    const sizes = [1, 100, 16 << 10, 3 << 20, 7, 1 << 20];
    const pushed: Buffer[] = [];
    for (let total = 0, i = 0; total < 20 << 20; i++) {
      const piece = randomBytes(sizes[i % sizes.length]!);
      pushed.push(piece);
      total += piece.byteLength;
      await writer.push(piece);
    }
    await writer.finish({ sync: true });
    await fh.close();
    assert.deepEqual(await readFile(file), Buffer.concat(pushed));
  });

  await t.test('a write that fails (the file closed under it) rejects the next push or the finish', async () => {
    const fh = await open(path.join(dir, 'b'), 'wx');
    const writer = new QueuedFileWriter(fh);
    await fh.close();
    await assert.rejects(async () => {
      for (let i = 0; i < 100; i++) await writer.push(Buffer.alloc(1 << 20));
      await writer.finish({ sync: false });
    }, (e: NodeJS.ErrnoException) => typeof e.code === 'string');
  });
});

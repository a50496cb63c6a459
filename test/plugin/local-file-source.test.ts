import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalFileSource } from '../../libs/plugin/local-file-source.js';

describe('LocalFileSource', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'local-files-'));
    await mkdir(path.join(root, 'demo', 'a'), { recursive: true });
    await mkdir(path.join(root, 'other'));
    await writeFile(path.join(root, 'demo', 'a', 'img.jpg'), 'inside');
    await writeFile(path.join(root, 'other', 'secret.txt'), 'outside');
    await symlink(path.join(root, 'other', 'secret.txt'), path.join(root, 'demo', 'link.txt'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('reads files of its project', async () => {
    assert.equal((await new LocalFileSource(root, 'demo').getFile('a/img.jpg'))?.toString(), 'inside');
  });

  it('gives null for missing files and anything outside the project, as the seed\'s fileServer', async () => {
    const files = new LocalFileSource(root, 'demo');
    for (const p of ['a/missing.jpg', '../other/secret.txt', path.join(root, 'other', 'secret.txt'), 'link.txt', 'a/../../other/secret.txt', '']) {
      assert.equal(await files.getFile(p), null, p);
    }
  });
});

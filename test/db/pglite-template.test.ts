import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createInMemoryPGlite } from '../../libs/db/pglite-template.js';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

async function usable(lite: PGlite): Promise<void> {
  await lite.exec('CREATE TABLE t (a int); INSERT INTO t VALUES (41), (1)');
  const { rows } = await lite.query<{ sum: number }>('SELECT sum(a)::int AS sum FROM t');
  assert.equal(rows[0]!.sum, 42);
  await lite.close();
}

// Two clusters, one initdb: a broken template is replaced as a missing one would be written, then loaded.
test('in-memory PGlite: a broken template is replaced by a fresh cluster\'s, which the next cluster loads untouched', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aide-pglite-template-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'template.tar.gz');
  writeFileSync(path, 'not a tarball', { mode: 0o600 });

  await usable(await createInMemoryPGlite(PGlite, path));
  const written = statSync(path);
  assert.equal(written.mode & 0o777, 0o600);
  assert.deepEqual(readFileSync(path).subarray(0, 2), GZIP_MAGIC, 'a gzip tarball of the data folder');

  // Loaded from the template: a fresh cluster (the first one's table is not there), the file not rewritten.
  await usable(await createInMemoryPGlite(PGlite, path));
  assert.equal(statSync(path).mtimeMs, written.mtimeMs);
});

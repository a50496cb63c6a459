import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type pg from 'pg';
import { BlobFolder } from '../../libs/blob/index.js';
import type { StateStore } from '../../services/controller/store/model-states.js';

/** A state store on `db` with its own temporary folder (not flushed to disk: it ends with the test), removed after the test. */
export async function tempStateStore(t: TestContext, db: pg.Pool): Promise<StateStore> {
  const dir = await mkdtemp(path.join(tmpdir(), 'aide-test-states-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return { db, blobs: await BlobFolder.open(dir, { sync: false }) };
}

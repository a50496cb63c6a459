/**
 * Keeping the state folder in step with `model_states`: files of deleted
 * states removed, files no row names (a crash between writing and committing)
 * swept, and states stored before the folder existed moved out of Postgres.
 */
import type pg from 'pg';
import { dataLoss } from '../../../libs/errors.js';
import type { Logger } from '../../../libs/log.js';
import type { StateStore } from './model-states.js';

/** A file or part no row names is left alone this long: its row may be about to commit. */
export const ORPHAN_GRACE_MS = 10 * 60_000;

/** Removes the files of states whose rows were deleted (the trigger noted them); returns how many. */
export async function reapDeletedBlobs(store: StateStore): Promise<number> {
  const { rows } = await store.db.query<{ name: string }>('SELECT name FROM state_blob_deletions');
  if (rows.length === 0) return 0;
  const names = rows.map((r) => r.name);
  await store.blobs.remove(names);
  await store.db.query('DELETE FROM state_blob_deletions WHERE name = ANY($1::uuid[])', [names]);
  return names.length;
}

/** Removes files and parts older than `graceMs` that no state row names; returns how many. */
export async function sweepOrphanBlobs(store: StateStore, graceMs = ORPHAN_GRACE_MS): Promise<number> {
  const before = Date.now() - graceMs;
  const old = (await store.blobs.list()).filter((e) => e.mtimeMs < before);
  if (old.length === 0) return 0;
  const { rows } = await store.db.query<{ id: string }>(
    'SELECT id::text FROM model_states WHERE id::text = ANY($1::text[])', [[...new Set(old.map((e) => e.name))]]);
  const named = new Set(rows.map((r) => r.id));
  const orphans = old.filter((e) => e.partial || !named.has(e.name));
  await store.blobs.remove(orphans.filter((e) => e.partial).map((e) => e.name), { partial: true });
  await store.blobs.remove(orphans.filter((e) => !e.partial).map((e) => e.name));
  return orphans.length;
}

/** Rows read per query while a stored state moves out of model_state_chunks. */
const LEGACY_BATCH = 4;

async function* legacyChunks(db: pg.Pool, id: string): AsyncGenerator<Buffer> {
  for (let seq = 0; ;) {
    const { rows } = await db.query<{ seq: number; data: Buffer }>(
      'SELECT seq, data FROM model_state_chunks WHERE state_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3', [id, seq, LEGACY_BATCH]);
    for (const r of rows) {
      if (r.seq !== seq) throw dataLoss(`model state ${id} lacks chunk ${seq}`);
      seq++;
      yield r.data;
    }
    if (rows.length < LEGACY_BATCH) return;
  }
}

/**
 * Moves states stored as 1 MiB rows of model_state_chunks (before the state
 * folder) into files, one state at a time, each checked against its stored
 * size and SHA-256 before its rows go; returns how many moved.
 */
export async function moveLegacyStates(store: StateStore, logger: Logger): Promise<number> {
  const { rows } = await store.db.query<{ id: string; size_bytes: string; sha256: Buffer }>(
    'SELECT id, size_bytes, sha256 FROM model_states s WHERE EXISTS (SELECT 1 FROM model_state_chunks c WHERE c.state_id = s.id)');
  for (const s of rows) {
    const written = await store.blobs.write(s.id, legacyChunks(store.db, s.id));
    if (written.size !== Number(s.size_bytes) || !written.sha256.equals(s.sha256)) {
      await store.blobs.remove([s.id], { partial: true });
      throw dataLoss(`model state ${s.id}: its stored rows hold ${written.size} bytes that do not match its size and SHA-256`);
    }
    await store.blobs.commit(s.id);
    await store.db.query('DELETE FROM model_state_chunks WHERE state_id = $1', [s.id]);
  }
  if (rows.length > 0) logger.info({ states: rows.length, folder: store.blobs.root }, 'moved model states from Postgres rows to the state folder');
  return rows.length;
}

/**
 * Keeps the folder tidy while the controller runs: reaps deleted states'
 * files every `reapMs` (callers that must see a file gone await
 * reapDeletedBlobs themselves) and sweeps orphans every `sweepMs`. Failures
 * are logged and tried again at the next turn.
 */
export function maintainStateFolder(store: StateStore, logger: Logger, opts: { reapMs?: number; sweepMs?: number } = {}): { stop(): void } {
  const run = (what: string, work: () => Promise<number>) => () => void work()
    .then((n) => { if (n > 0) logger.debug({ files: n }, `state folder: ${what}`); })
    .catch((err: unknown) => logger.warn({ err }, `state folder: ${what} failed`));
  const reap = setInterval(run('reaped deleted states', () => reapDeletedBlobs(store)), opts.reapMs ?? 5000);
  const sweep = setInterval(run('swept orphans', () => sweepOrphanBlobs(store)), opts.sweepMs ?? ORPHAN_GRACE_MS);
  reap.unref();
  sweep.unref();
  return { stop: () => { clearInterval(reap); clearInterval(sweep); } };
}

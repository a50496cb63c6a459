import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { BlobFolder, FolderPart } from '../../../libs/blob/index.js';
import { failedPrecondition, notFound } from '../../../libs/errors.js';
import type { ModelStateInfo, ModelStateMeta, TrainingPart } from '../domain.js';
import { type Db, inTransaction, int } from './db.js';

interface StateRow {
  id: string;
  project: string;
  model_library: string;
  version: number | null;
  label_class_map: Record<string, number>;
  stats: Record<string, number>;
  parent_id: string | null;
  num_images: number;
  size_bytes: string;
  sha256: Buffer;
  partial: boolean;
  created_at: Date;
  current: boolean;
  job_id: string | null;
  round: number | null;
  shard: number | null;
  inputs: string;
}

const toInfo = (r: StateRow): ModelStateInfo => ({
  id: r.id,
  project: r.project,
  modelLibrary: r.model_library,
  version: r.version,
  labelClassMap: r.label_class_map,
  stats: r.stats,
  parentId: r.parent_id,
  numImages: r.num_images,
  sizeBytes: int(r.size_bytes),
  sha256: r.sha256,
  partial: r.partial,
  createdAt: r.created_at,
  current: r.current,
  part: r.partial && r.job_id !== null ? { jobId: r.job_id, round: r.round ?? 0, shard: r.shard, inputs: r.inputs } : null,
});

/**
 * Where states live: their metadata, SHA-256 and history in Postgres
 * (`model_states`), their bytes as one immutable file per state, named by its
 * id, in a folder (see the README's "Model states"). A row is what makes a
 * state exist: its file is complete on disk before the row commits, and is
 * removed after the row is deleted (state-blobs.ts reaps what a deletion left).
 */
export interface StateStore {
  db: pg.Pool;
  blobs: BlobFolder;
}

/** `$1` is the project. */
const SELECT_STATES = `
  SELECT s.*, (s.id = p.current_state_id) IS TRUE AS current
  FROM model_states s JOIN projects p ON p.name = s.project
  WHERE s.project = $1`;

/** Statistics as jsonb holds them: NaN and ±Infinity have no JSON form (they would come back as null), so they are left out. */
const finiteStats = (stats: Record<string, number>): string =>
  JSON.stringify(Object.fromEntries(Object.entries(stats).filter(([, v]) => Number.isFinite(v))));

async function insertStateRow(
  client: pg.PoolClient, id: string, meta: ModelStateMeta, part: TrainingPart | null, bytes: { size: number; sha256: Buffer },
): Promise<void> {
  await client.query(
    `INSERT INTO model_states (id, project, model_library, label_class_map, stats, parent_id, num_images, partial, job_id, round, shard, inputs, size_bytes, sha256)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [id, meta.project, meta.modelLibrary, JSON.stringify(meta.labelClassMap), finiteStats(meta.stats), meta.parentId, meta.numImages,
      part !== null, part?.jobId ?? null, part?.round ?? null, part?.shard ?? null, part?.inputs ?? '', bytes.size, bytes.sha256],
  );
}

/**
 * Gives a complete state the project's next version from its counter (never a deleted state's number); the
 * project row's update lock makes it safe under concurrency.
 */
async function assignVersion(client: pg.PoolClient, project: string, id: string): Promise<void> {
  const { rowCount } = await client.query(
    `WITH next AS (UPDATE projects SET last_state_version = last_state_version + 1 WHERE name = $1 RETURNING last_state_version)
     UPDATE model_states SET version = (SELECT last_state_version FROM next) WHERE id = $2`, [project, id]);
  if (rowCount !== 1) throw notFound(`model state ${id} of project '${project}'`);
}

/** A state's bytes as they arrive: one buffer, pieces (an upload, a worker's result), or a part a worker wrote into the folder. */
export type StateBytes = AsyncIterable<Uint8Array> | Uint8Array | FolderPart;

const isFolderPart = (bytes: StateBytes): bytes is FolderPart => 'part' in bytes;

/** Writes the bytes to the part of a new blob, unless a worker sharing the folder wrote them there already. */
async function writePart(store: StateStore, bytes: StateBytes, sha256: (() => Buffer | undefined) | undefined): Promise<{ id: string; size: number; sha256: Buffer }> {
  if (isFolderPart(bytes)) return { id: bytes.part, size: bytes.size, sha256: bytes.sha256 };
  const id = randomUUID();
  const source = bytes instanceof Uint8Array ? [bytes] : bytes;
  return { id, ...await store.blobs.write(id, (async function* () { yield* source; })(), { sha256 }) };
}

/**
 * Stores a state streamed in: its bytes to a file of the store's folder as
 * they arrive (never whole in memory), then in one short transaction its row
 * with size and SHA-256 and (unless it is a partial state, part of a training
 * job) the project's next version, the file renamed into place just before
 * the commit: the state is visible complete or not at all. The SHA-256 is
 * computed on the way, or taken from `sha256` where the bytes were verified
 * against one already (one hash per hop); a worker's part comes with the
 * SHA-256 it computed as it wrote. A source that throws (truncated,
 * corrupt, cancelled) leaves nothing. `client`: run in the caller's
 * transaction (a file whose row that transaction rolls back is swept later).
 */
export async function insertState(
  store: StateStore, meta: ModelStateMeta, bytes: StateBytes, opts: { part?: TrainingPart; client?: pg.PoolClient; sha256?: () => Buffer | undefined } = {},
): Promise<ModelStateInfo> {
  const part = opts.part ?? null;
  const { id, ...written } = await writePart(store, bytes, opts.sha256);
  try {
    return await inTransaction(opts.client ?? store.db, async (client) => {
      await insertStateRow(client, id, meta, part, written);
      if (!part) await assignVersion(client, meta.project, id);
      await store.blobs.commit(id);
      return getState(client, meta.project, id);
    });
  } catch (err) {
    await store.blobs.remove([id], { partial: true });
    // A commit whose outcome is unknown (the connection lost) may have stored the row: then the file stays.
    if (!opts.client && !(await rowExists(store.db, id).catch(() => true))) await store.blobs.remove([id]);
    throw err;
  }
}

const rowExists = async (db: Db, id: string): Promise<boolean> =>
  ((await db.query('SELECT 1 FROM model_states WHERE id = $1', [id])).rowCount ?? 0) > 0;

/**
 * A new state of `meta.project` holding the bytes of `sourceId` (any
 * project's): a second name for the same file, nothing copied through this
 * process.
 */
export async function copyState(store: StateStore, sourceId: string, meta: ModelStateMeta): Promise<ModelStateInfo> {
  const id = randomUUID();
  await store.blobs.link(sourceId, id);
  try {
    return await inTransaction(store.db, async (client) => {
      const { rows } = await client.query<{ size_bytes: string; sha256: Buffer }>('SELECT size_bytes, sha256 FROM model_states WHERE id = $1', [sourceId]);
      if (!rows[0]) throw notFound(`model state ${sourceId}`);
      await insertStateRow(client, id, meta, null, { size: int(rows[0].size_bytes), sha256: rows[0].sha256 });
      await assignVersion(client, meta.project, id);
      return getState(client, meta.project, id);
    });
  } catch (err) {
    if (!(await rowExists(store.db, id).catch(() => true))) await store.blobs.remove([id]);
    throw err;
  }
}

/** The project's state, or NOT_FOUND. */
export async function getState(db: Db, project: string, id: string): Promise<ModelStateInfo> {
  const { rows } = await db.query<StateRow>(`${SELECT_STATES} AND s.id = $2`, [project, id]);
  if (!rows[0]) throw notFound(`model state ${id}`);
  return toInfo(rows[0]);
}

/**
 * The state's bytes from its file, read a piece ahead of the consumer (each
 * call reads afresh); DATA_LOSS if the file is missing or of another size.
 * Not hashed here: the SHA-256 stored with the row travels with the bytes
 * (toChunks' `sha256`) and the receiver checks it, so corruption at rest is
 * caught at the other end.
 */
export function stateBytes(store: StateStore, info: ModelStateInfo): AsyncGenerator<Buffer> {
  return store.blobs.read(info.id, info.sizeBytes);
}

/** A state's info and its bytes as a stream (never the whole state in memory). */
export async function openState(store: StateStore, project: string, id: string): Promise<{ info: ModelStateInfo; chunks: AsyncIterable<Buffer> }> {
  const info = await getState(store.db, project, id);
  return { info, chunks: stateBytes(store, info) };
}

/** The state the project trains and predicts from, if any. */
export async function currentState(db: Db, project: string): Promise<ModelStateInfo | null> {
  const { rows } = await db.query<StateRow>(`${SELECT_STATES} AND s.id = p.current_state_id`, [project]);
  return rows[0] ? toInfo(rows[0]) : null;
}

/** A complete state of the project: NOT_FOUND, or FAILED_PRECONDITION for a partial one (internal to a training job). */
export async function getCompleteState(db: Db, project: string, id: string): Promise<ModelStateInfo> {
  const info = await getState(db, project, id);
  if (info.partial) throw failedPrecondition(`model state ${id} is partial: an intermediate state of training job ${info.part?.jobId ?? '(ended)'}`);
  return info;
}

/** Makes a complete state of the project current (no bytes move): AIDE's "duplicate state", without the copy. */
export async function setCurrentState(db: Db, project: string, id: string): Promise<ModelStateInfo> {
  const info = await getCompleteState(db, project, id);
  await db.query('UPDATE projects SET current_state_id = $2 WHERE name = $1', [project, id]);
  return { ...info, current: true };
}

/**
 * Records that a job reads this state (its options' `state_id`), so that
 * deleteState refuses it until the job ends. The row lock (FOR KEY SHARE,
 * which a DELETE waits for) orders it against a concurrent deleteState:
 * either the delete sees the pin, or the pin finds the state gone (NOT_FOUND).
 */
export function useState(db: Db, jobId: string, project: string, id: string): Promise<ModelStateInfo> {
  return inTransaction(db, async (client) => {
    const { rowCount } = await client.query('SELECT 1 FROM model_states WHERE id = $1 AND project = $2 FOR KEY SHARE', [id, project]);
    if (rowCount !== 1) throw notFound(`model state ${id}`);
    await client.query(`UPDATE jobs SET options = options || jsonb_build_object('state_id', $2::text) WHERE id = $1`, [jobId, id]);
    return getCompleteState(client, project, id);
  });
}

/**
 * Deletes a complete state unless an unfinished job uses it (FAILED_PRECONDITION):
 * a job's options name its state as `state_id` (see useState). Partial states
 * belong to their training job, which removes them itself.
 */
export function deleteState(db: Db, project: string, id: string): Promise<void> {
  return inTransaction(db, async (client) => {
    await client.query('SELECT 1 FROM model_states WHERE id = $1 AND project = $2 FOR UPDATE', [id, project]);
    await getCompleteState(client, project, id);
    const { rows } = await client.query<{ id: string }>(
      `SELECT id FROM jobs WHERE project = $1 AND state IN ('queued', 'running') AND options->>'state_id' = $2 LIMIT 1`, [project, id]);
    if (rows[0]) throw failedPrecondition(`model state ${id} is in use by job ${rows[0].id}`);
    await client.query('DELETE FROM model_states WHERE project = $1 AND id = $2', [project, id]);
  });
}

/** A training job's partial states (round averages and shards), by round. */
export async function partialStates(db: Db, project: string, jobId: string): Promise<ModelStateInfo[]> {
  const { rows } = await db.query<StateRow>(`${SELECT_STATES} AND s.partial AND s.job_id = $2 ORDER BY s.round, s.shard NULLS FIRST`, [project, jobId]);
  return rows.map(toInfo);
}

/** Deletes a job's partial states but those in `keep`. */
export async function deletePartialStates(db: Db, jobId: string, keep: readonly string[] = []): Promise<void> {
  await db.query('DELETE FROM model_states WHERE partial AND job_id = $1 AND NOT (id = ANY($2::uuid[]))', [jobId, [...keep]]);
}

/** Deletes the partial states no queued or running job can resume from (it failed, was cancelled, or is gone). */
export async function sweepPartialStates(db: Db): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM model_states s WHERE s.partial
       AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = s.job_id AND j.state IN ('queued', 'running'))`);
  return rowCount ?? 0;
}

/**
 * Turns a job's final partial state (its last round's average) into the
 * project's next version, trained from `parentId`: no bytes are copied.
 */
export async function completeTrainedState(client: pg.PoolClient, project: string, id: string, parentId: string | null): Promise<ModelStateInfo> {
  const { rowCount } = await client.query(
    `UPDATE model_states SET partial = false, parent_id = $3, round = NULL, shard = NULL, inputs = ''
     WHERE project = $1 AND id = $2 AND partial`, [project, id, parentId]);
  if (rowCount !== 1) throw notFound(`partial model state ${id}`);
  await assignVersion(client, project, id);
  return getState(client, project, id);
}

/** The project's complete states by version (partial ones are internal to a training). */
export async function listStates(db: Db, project: string): Promise<ModelStateInfo[]> {
  const { rows } = await db.query<StateRow>(`${SELECT_STATES} AND NOT s.partial ORDER BY s.version`, [project]);
  return rows.map(toInfo);
}

import { createHash } from 'node:crypto';
import type pg from 'pg';
import { dataLoss, failedPrecondition, notFound } from '../../../libs/errors.js';
import type { ModelStateInfo, ModelStateMeta, TrainingPart } from '../domain.js';
import { type Db, inTransaction, int } from './db.js';

/** Bytes per row of model_state_chunks. */
export const STATE_CHUNK_BYTES = 1 << 20;
/** Rows read per query while streaming a state out: bounded memory, few round trips. */
const READ_BATCH = 4;

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

/** `$1` is the project. */
const SELECT_STATES = `
  SELECT s.*, (s.id = p.current_state_id) IS TRUE AS current
  FROM model_states s JOIN projects p ON p.name = s.project
  WHERE s.project = $1`;

/** Views of at most STATE_CHUNK_BYTES of each piece (no copies). */
function* slices(piece: Uint8Array): Generator<Buffer> {
  for (let at = 0; at < piece.byteLength; at += STATE_CHUNK_BYTES) {
    yield Buffer.from(piece.buffer, piece.byteOffset + at, Math.min(STATE_CHUNK_BYTES, piece.byteLength - at));
  }
}

/** Statistics as jsonb holds them: NaN and ±Infinity have no JSON form (they would come back as null), so they are left out. */
const finiteStats = (stats: Record<string, number>): string =>
  JSON.stringify(Object.fromEntries(Object.entries(stats).filter(([, v]) => Number.isFinite(v))));

async function insertStateRow(client: pg.PoolClient, meta: ModelStateMeta, part: TrainingPart | null): Promise<string> {
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO model_states (project, model_library, label_class_map, stats, parent_id, num_images, partial, job_id, round, shard, inputs)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
    [meta.project, meta.modelLibrary, JSON.stringify(meta.labelClassMap), finiteStats(meta.stats), meta.parentId, meta.numImages,
      part !== null, part?.jobId ?? null, part?.round ?? null, part?.shard ?? null, part?.inputs ?? ''],
  );
  return rows[0]!.id;
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

/**
 * Stores a state streamed in, in one transaction: its bytes as 1 MiB rows,
 * the SHA-256 computed on the way, and (unless it is a partial state, part of
 * a training job) the project's next version, allocated at the end so the
 * project is locked only briefly. A source that throws (truncated, corrupt)
 * leaves nothing. On a pool it opens its own transaction; on a client it runs
 * in the caller's.
 */
export function insertState(
  db: Db, meta: ModelStateMeta, bytes: AsyncIterable<Uint8Array> | Uint8Array, opts: { part?: TrainingPart } = {},
): Promise<ModelStateInfo> {
  const part = opts.part ?? null;
  return inTransaction(db, async (client) => {
    const id = await insertStateRow(client, meta, part);
    const hash = createHash('sha256');
    let seq = 0;
    let size = 0;
    const source = (bytes instanceof Uint8Array ? (async function* () { yield bytes; })() : bytes)[Symbol.asyncIterator]();
    for (let next = source.next(); ;) {
      const { done, value: piece } = await next;
      if (done) break;
      // The next piece arrives (an upload: is received and verified) while this one is written.
      next = source.next();
      next.catch(() => {}); // observed at the top of the loop; a write failing first ends the transaction
      for (const data of slices(piece)) {
        hash.update(data);
        size += data.byteLength;
        await client.query('INSERT INTO model_state_chunks (state_id, seq, data) VALUES ($1, $2, $3)', [id, seq++, data]);
      }
    }
    await client.query('UPDATE model_states SET size_bytes = $2, sha256 = $3 WHERE id = $1', [id, size, hash.digest()]);
    if (!part) await assignVersion(client, meta.project, id);
    return getState(client, meta.project, id);
  });
}

/**
 * A new state of `meta.project` holding the bytes of `sourceId` (any project's),
 * copied inside the database: nothing passes through this process.
 */
export function copyState(db: Db, sourceId: string, meta: ModelStateMeta): Promise<ModelStateInfo> {
  return inTransaction(db, async (client) => {
    const id = await insertStateRow(client, meta, null);
    await client.query(
      `INSERT INTO model_state_chunks (state_id, seq, data) SELECT $1, seq, data FROM model_state_chunks WHERE state_id = $2`, [id, sourceId]);
    await client.query(
      `UPDATE model_states t SET size_bytes = s.size_bytes, sha256 = s.sha256 FROM model_states s WHERE t.id = $1 AND s.id = $2`, [id, sourceId]);
    await assignVersion(client, meta.project, id);
    return getState(client, meta.project, id);
  });
}

/** The project's state, or NOT_FOUND. */
export async function getState(db: Db, project: string, id: string): Promise<ModelStateInfo> {
  const { rows } = await db.query<StateRow>(`${SELECT_STATES} AND s.id = $2`, [project, id]);
  if (!rows[0]) throw notFound(`model state ${id}`);
  return toInfo(rows[0]);
}

/**
 * The state's bytes, chunk rows read a few at a time as the consumer iterates
 * (each call reads afresh). On the pool: the next rows are fetched on another
 * connection while the consumer takes these.
 */
export async function* stateBytes(db: pg.Pool, info: ModelStateInfo): AsyncGenerator<Buffer> {
  const batch = (from: number) => db.query<{ seq: number; data: Buffer }>(
    'SELECT seq, data FROM model_state_chunks WHERE state_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3', [info.id, from, READ_BATCH]);
  let seq = 0;
  let size = 0;
  let next = batch(0);
  for (;;) {
    const { rows } = await next;
    if (rows.length === READ_BATCH) {
      // A consumer that stops early leaves this fetch unobserved: no rejection may escape.
      next = batch(seq + READ_BATCH);
      next.catch(() => {});
    }
    for (const r of rows) {
      if (r.seq !== seq) throw dataLoss(`model state ${info.id} lacks chunk ${seq}`);
      seq++;
      size += r.data.byteLength;
      yield r.data;
    }
    if (rows.length < READ_BATCH) break;
  }
  if (size !== info.sizeBytes) throw dataLoss(`model state ${info.id} holds ${size} of its ${info.sizeBytes} bytes`);
}

/** A state's info and its bytes as a stream (never the whole state in memory). */
export async function openState(db: pg.Pool, project: string, id: string): Promise<{ info: ModelStateInfo; chunks: AsyncIterable<Buffer> }> {
  const info = await getState(db, project, id);
  return { info, chunks: stateBytes(db, info) };
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

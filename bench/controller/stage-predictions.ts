/**
 * Writing an inference run's predictions and embeddings (store/predictions.ts,
 * store/embeddings.ts): N images in batches as the worker sends them (one
 * label prediction of 10 logits and a 32-dim float16 embedding each), staged,
 * then committed into the state's predictions. CPU per image of Postgres (every
 * postgres process) and of this process, and the wall time, for:
 *
 *   columns     the store's functions on the schema as migrated: each batch's columns
 *               as arrays unnested by Postgres, staging tables without keys to images
 *               and states and without WAL (migration 0010)
 *   values      the reference, as before: one VALUES tuple of parameters per row, the
 *               state and images looked up per batch, the schema before migration 0010
 *
 * Both on the real Postgres, each on a fresh schema, alternating, `--rounds` times.
 *
 *   node --import tsx bench/controller/stage-predictions.ts [--images 10000] [--batch 512] [--rounds 3]
 *
 * Prints a table (medians over rounds) and `figure stage_pg_us_columns <µs>`, `figure stage_pg_us_values <µs>`,
 * `figure stage_pg_cpu_ratio <columns ÷ values>` (staging and commit together).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BlobFolder } from '../../libs/blob/index.js';
import { migrate, openDatabase } from '../../libs/db/index.js';
import type { ImagePredictions } from '../../services/controller/domain.js';
import { CONTROLLER_MIGRATIONS } from '../../services/controller/schema/index.js';
import { inTransaction, type Db } from '../../services/controller/store/db.js';
import { commitStagedEmbeddings, stageEmbeddings } from '../../services/controller/store/embeddings.js';
import { imagesByIds, insertImages } from '../../services/controller/store/images.js';
import { chooseInferenceImages } from '../../services/controller/store/inference-images.js';
import { addLabelClasses } from '../../services/controller/store/label-classes.js';
import { getState } from '../../services/controller/store/model-states.js';
import { commitStagedPredictions, stagePredictions, type StagingRun } from '../../services/controller/store/predictions.js';
import { insertLabelsProject, insertOneClassState } from '../../test/support/controller-db.js';
import { realPostgresUrl } from '../../test/support/postgres.js';
import { cpuDuring, postgresPids } from '../support/process-cpu.js';

const { values: args } = parseArgs({
  options: { images: { type: 'string', default: '10000' }, batch: { type: 'string', default: '512' }, rounds: { type: 'string', default: '3' } },
});
const N = Number(args.images);
const BATCH = Number(args.batch);
const ROUNDS = Number(args.rounds);
const PROJECT = 'staging';
const url = await realPostgresUrl();
if (!url) throw new Error('the real Postgres does not answer');

/** The reference writer: the state and the images looked up, then a VALUES tuple per row (as the store wrote before migration 0010). */
async function stageByValues(db: Db, run: StagingRun, stateId: string, images: readonly ImagePredictions[]): Promise<void> {
  await inTransaction(db, async (client) => {
    await getState(client, PROJECT, stateId);
    await imagesByIds(client, PROJECT, images.map((i) => i.imageId));
    const ids = images.map((i) => i.imageId);
    await client.query('DELETE FROM staged_predictions WHERE run_id = $1 AND image_id = ANY($2)', [run.runId, ids]);
    const rows = images.flatMap((i) => i.predictions.map((p) => [i.imageId, stateId, p.labelClassId, p.geometry.kind, p.confidence, p.logits, p.priority, run.runId, run.jobId]));
    const tuples = rows.map((_, r) => `(${Array.from({ length: 9 }, (_, c) => `$${r * 9 + c + 1}`).join(', ')})`);
    await client.query(`INSERT INTO staged_predictions (image_id, state_id, label_class_id, kind, confidence, logits, priority, run_id, job_id)
      VALUES ${tuples.join(', ')}`, rows.flat());
    await client.query('DELETE FROM staged_image_embeddings WHERE run_id = $1 AND image_id = ANY($2)', [run.runId, ids]);
    const embedded = images.filter((i) => i.embedding);
    const etuples = embedded.map((_, r) => `(${Array.from({ length: 6 }, (_, c) => `$${r * 6 + c + 1}`).join(', ')})`);
    await client.query(`INSERT INTO staged_image_embeddings (run_id, job_id, state_id, image_id, dim, float16) VALUES ${etuples.join(', ')}`,
      embedded.flatMap((i) => [run.runId, run.jobId, stateId, i.imageId, i.embedding!.dim, Buffer.from(i.embedding!.float16)]));
  });
}

async function stageByColumns(db: Db, run: StagingRun, stateId: string, images: readonly ImagePredictions[]): Promise<void> {
  await inTransaction(db, async (client) => {
    await stagePredictions(client, run, stateId, images);
    await stageEmbeddings(client, run, stateId, images.map((i) => i.imageId), images.map((i) => ({ imageId: i.imageId, embedding: i.embedding! })));
  });
}

interface Measured { stageS: number; commitS: number; stagePg: number; commitPg: number; stageNode: number }

async function measure(method: 'columns' | 'values'): Promise<Measured> {
  const schema = `bench_stage_${process.pid}_${method}`;
  const database = await openDatabase({ url, schema, poolSize: 2 });
  const db = database.pool;
  const dir = await mkdtemp(path.join(tmpdir(), 'aide-bench-stage-'));
  try {
    await db.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await migrate(db, method === 'columns' ? CONTROLLER_MIGRATIONS : CONTROLLER_MIGRATIONS.filter((m) => m.id !== '0010_lean_staging'));
    await insertLabelsProject(db, PROJECT);
    const store = { db, blobs: await BlobFolder.open(dir, { sync: false }) };
    const [cls] = await addLabelClasses(db, PROJECT, [{ name: 'a', color: '' }]);
    for (let s = 0; s < N; s += 2000) {
      await insertImages(db, PROJECT, Array.from({ length: Math.min(2000, N - s) }, (_, j) => ({ filePath: `${s + j}.png`, sizeBytes: 1, width: 8, height: 8 })));
    }
    const ids = (await db.query<{ id: string }>('SELECT id FROM images WHERE project = $1 ORDER BY file_path', [PROJECT])).rows.map((r) => r.id);
    const state = await insertOneClassState(store, PROJECT, cls!.id);
    const { rows: [job] } = await db.query<{ id: string }>(`INSERT INTO jobs (project, kind) VALUES ($1, 'inference') RETURNING id`, [PROJECT]);
    const run = { jobId: job!.id, runId: randomUUID() };
    await chooseInferenceImages(db, PROJECT, run, {}, 1);
    await db.query('ANALYZE');
    const float16 = new Uint8Array(64);
    const batches = Array.from({ length: Math.ceil(N / BATCH) }, (_, b) => ids.slice(b * BATCH, (b + 1) * BATCH).map((imageId, k) => ({
      imageId,
      predictions: [{ labelClassId: cls!.id, confidence: 0.5, logits: Array.from({ length: 10 }, (_, c) => Math.sin(b * BATCH + k + c)), priority: 0, geometry: { kind: 'label' as const } }],
      embedding: { dim: 32, float16 },
    })));
    const stage = method === 'columns' ? stageByColumns : stageByValues;
    const pg = [{ name: 'postgres', pids: postgresPids }];
    const node0 = process.cpuUsage();
    let t0 = performance.now();
    const staged = await cpuDuring(pg, async () => { for (const batch of batches) await stage(db, run, state.id, batch); });
    const stageS = (performance.now() - t0) / 1000;
    const node = process.cpuUsage(node0);
    t0 = performance.now();
    const committed = await cpuDuring(pg, () => inTransaction(db, async (client) => {
      await commitStagedPredictions(client, run, state.id);
      await commitStagedEmbeddings(client, run, state.id);
    }));
    const commitS = (performance.now() - t0) / 1000;
    const { rows: [count] } = await db.query<{ n: string }>('SELECT count(*) AS n FROM predictions WHERE state_id = $1', [state.id]);
    if (Number(count!.n) !== N) throw new Error(`${method}: ${count!.n} predictions stored, ${N} expected`);
    return { stageS, commitS, stagePg: staged.cpu.postgres!, commitPg: committed.cpu.postgres!, stageNode: (node.user + node.system) / 1e6 };
  } finally {
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await database.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const results = { columns: [] as Measured[], values: [] as Measured[] };
for (let r = 0; r < ROUNDS; r++) {
  for (const method of ['values', 'columns'] as const) results[method].push(await measure(method));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const us = (s: number) => ((s * 1e6) / N).toFixed(0);
console.log(`\nstaging ${N} images' predictions and embeddings in batches of ${BATCH}, then the commit; medians of ${ROUNDS} rounds`);
console.log('| method | stage s | commit s | Postgres µs/image, stage | Postgres µs/image, commit | this process µs/image, stage |');
console.log('|---|---:|---:|---:|---:|---:|');
const pgUs = {} as Record<'columns' | 'values', number>;
for (const method of ['values', 'columns'] as const) {
  const m = results[method];
  const get = (k: keyof Measured) => median(m.map((x) => x[k]));
  pgUs[method] = ((get('stagePg') + get('commitPg')) * 1e6) / N;
  console.log(`| ${method} | ${get('stageS').toFixed(2)} | ${get('commitS').toFixed(2)} | ${us(get('stagePg'))} | ${us(get('commitPg'))} | ${us(get('stageNode'))} |`);
}
console.log(`figure stage_pg_us_values ${pgUs.values.toFixed(0)}`);
console.log(`figure stage_pg_us_columns ${pgUs.columns.toFixed(0)}`);
console.log(`figure stage_pg_cpu_ratio ${(pgUs.columns / pgUs.values).toFixed(2)}`);

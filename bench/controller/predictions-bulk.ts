/**
 * A state's predictions in bulk inside the controller, without the mesh: a
 * fresh schema on the real Postgres (the controller's migrations and store
 * functions, as the tests make it) with one labels prediction of `classes`
 * logits per image, then, per N:
 *
 *   read       every score column of the state (scoreColumnsOfState: what ranking by columns sends)
 *   write      every priority back, a page of 8,192 per setPriorities, in one transaction
 *   rank       the ranking pass end to end (rankByColumns with builtin.breaking_ties), the Ranker in
 *              this process (rankStream) behind a protobuf encode and decode of every message each way
 *              (what gRPC would do), in one transaction that commits
 *   stream     StreamPredictions' handler (1,000 images a message) read to its end, every message
 *              protobuf-encoded as gRPC would
 *   stream_grpc  the same call through gRPC: the handler behind a server on loopback, read by a client
 *              that decodes every message (server and client share this process's one thread)
 *   pg_select  reference: SELECT id, confidence, logits of the state's predictions, one query, with pg
 *   pg_update  reference: one UPDATE … FROM unnest($1::uuid[], $2::float8[]) of every prediction, with pg
 *
 * Each step runs `--repeat` times after a VACUUM ANALYZE (not timed); the best time counts. With
 * `--after-write`, each run instead follows a write of every priority and an ANALYZE of the priority column
 * (not timed), as a ranking job leaves the table: a dead row version and dead index entries per prediction.
 * Prints a table and `figure bulk_<step>_per_s <value>` lines (predictions a second) for the largest N.
 *
 *   node --import tsx bench/controller/predictions-bulk.ts [--predictions 20000,100000] [--classes 10] [--repeat 3]
 *     [--steps read,write,rank,stream,stream_grpc,pg_select,pg_update]   (a few of them: for node --cpu-prof)
 *     [--after-write]
 *
 * Needs the real Postgres (AIDE_TEST_DATABASE_URL, default postgres://127.0.0.1:5432/test).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BlobFolder } from '../../libs/blob/index.js';
import { migrate, openDatabase, type Database } from '../../libs/db/index.js';
import { AnnotationType } from '../../libs/gen/aide/v1/common.js';
import { ControllerServiceService, StreamPredictionsResponse, type StreamPredictionsRequest } from '../../libs/gen/aide/v1/controller.js';
import { RankRequest, RankResponse } from '../../libs/gen/aide/v1/ranker.js';
import { createClient, implement, startServer, type CallContext, type Client, type ServiceHandlers } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import type { PluginContext } from '../../libs/plugin/context.js';
import { loadRegistry } from '../../libs/plugin/registry.js';
import { uuidsToBytes } from '../../libs/wire/uuid-bytes.js';
import { predictionHandlers } from '../../services/controller/api/predictions.js';
import type { ControllerDeps } from '../../services/controller/api/deps.js';
import { rankByColumns, type RankCall } from '../../services/controller/orchestration/execute-rank.js';
import { CONTROLLER_MIGRATIONS } from '../../services/controller/schema/index.js';
import { inTransaction } from '../../services/controller/store/db.js';
import { insertImages } from '../../services/controller/store/images.js';
import { addLabelClasses } from '../../services/controller/store/label-classes.js';
import { insertState } from '../../services/controller/store/model-states.js';
import { insertPredictions, scoreColumnsOfState, setPriorities } from '../../services/controller/store/predictions.js';
import { rankStream } from '../../services/ranker/rank-stream.js';
import { insertLabelsProject } from '../../test/support/controller-db.js';
import { realPostgresUrl } from '../../test/support/postgres.js';

const { values: args } = parseArgs({
  options: {
    predictions: { type: 'string', default: '20000,100000' },
    classes: { type: 'string', default: '10' },
    repeat: { type: 'string', default: '3' },
    steps: { type: 'string', default: 'read,write,rank,stream,stream_grpc,pg_select,pg_update' },
    'after-write': { type: 'boolean', default: false },
  },
});
const sizes = args.predictions.split(',').map(Number).sort((a, b) => a - b);
const CLASSES = Number(args.classes);
const REPEAT = Number(args.repeat);
const PROJECT = 'bulk';
/** Images (one prediction each) inserted per insertPredictions call while seeding. */
const SEED_CHUNK = 2000;

const url = await realPostgresUrl();
if (!url) throw new Error('no real Postgres answers (AIDE_TEST_DATABASE_URL)');

const registry = await loadRegistry({});
const rankerDeps = {
  registry,
  contextFor: (project: string): Omit<PluginContext, 'options'> => ({
    project, config: { getProperty: (_s, _k, _t, fallback) => fallback }, dbConnector: { execute: () => Promise.resolve(null) }, fileServer: { getFile: () => Promise.resolve(null) },
  }),
};

/** A deterministic pseudo-random probability vector of CLASSES entries for prediction i. */
function probabilities(i: number): number[] {
  const raw = Array.from({ length: CLASSES }, (_, k) => ((Math.imul(i * 31 + k, 2654435761) >>> 0) % 1000) + 1);
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((v) => v / sum);
}

interface Seeded {
  database: Database;
  stateId: string;
  ids: string[];
  cleanup(): Promise<void>;
}

async function seed(n: number): Promise<Seeded> {
  const schema = `bench_predictions_${process.pid}_${n}`;
  const database = await openDatabase({ url, schema, poolSize: 4 });
  const { pool } = database;
  const dir = await mkdtemp(path.join(tmpdir(), 'aide-bench-states-'));
  const cleanup = async () => {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await database.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await migrate(pool, CONTROLLER_MIGRATIONS);
    await insertLabelsProject(pool, PROJECT, { rankerLibrary: 'builtin.breaking_ties' });
    const classes = await addLabelClasses(pool, PROJECT, Array.from({ length: CLASSES }, (_, k) => ({ name: `c${k}`, color: '' })));
    const states = { db: pool, blobs: await BlobFolder.open(dir, { sync: false }) };
    const state = await insertState(states, {
      project: PROJECT, modelLibrary: 'bench', labelClassMap: Object.fromEntries(classes.map((c, k) => [c.id, k])), stats: {}, parentId: null, numImages: 0,
    }, Buffer.from('state'));
    for (let start = 0; start < n; start += SEED_CHUNK) {
      const count = Math.min(SEED_CHUNK, n - start);
      await insertImages(pool, PROJECT, Array.from({ length: count }, (_, j) => ({ filePath: `img/${start + j}.png`, sizeBytes: 1, width: 8, height: 8 })));
    }
    const images = (await pool.query<{ id: string }>('SELECT id FROM images WHERE project = $1 ORDER BY file_path', [PROJECT])).rows;
    for (let start = 0; start < n; start += SEED_CHUNK) {
      await insertPredictions(pool, PROJECT, state.id, images.slice(start, start + SEED_CHUNK).map((img, j) => {
        const logits = probabilities(start + j);
        const top = logits.indexOf(Math.max(...logits));
        return { imageId: img.id, predictions: [{ labelClassId: classes[top]!.id, confidence: logits[top]!, logits, priority: 0, geometry: { kind: 'label' as const } }] };
      }));
    }
    const ids = (await pool.query<{ id: string }>('SELECT id FROM predictions WHERE state_id = $1', [state.id])).rows.map((r) => r.id);
    return { database, stateId: state.id, ids, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/**
 * The best of REPEAT runs of `fn` (each after a VACUUM ANALYZE, and with --after-write a rewrite of every
 * priority, none of it timed), in seconds; `fn` returns how many predictions it handled.
 */
async function best(seeded: Seeded, step: Step, expected: number, fn: () => Promise<number>): Promise<number> {
  let seconds = Infinity;
  const { pool } = seeded.database;
  for (let r = 0; r < REPEAT; r++) {
    await pool.query('VACUUM ANALYZE predictions');
    if (args['after-write']) {
      // What a ranking job leaves (refreshPredictionStatistics(db, 'priorities') after its UPDATE).
      await pool.query('UPDATE predictions SET priority = random() WHERE state_id = $1', [seeded.stateId]);
      await pool.query('ANALYZE predictions (priority)');
    }
    const t0 = performance.now();
    const handled = await fn();
    seconds = Math.min(seconds, (performance.now() - t0) / 1000);
    if (handled !== expected) throw new Error(`${step}: handled ${handled} predictions, expected ${expected}`);
  }
  return seconds;
}

/** The Ranker in this process, every message encoded and decoded as gRPC would on each side. */
const inProcessRank: RankCall = async function* (requests, { signal }) {
  async function* wired(): AsyncGenerator<RankRequest> {
    for await (const r of requests) yield RankRequest.decode(RankRequest.encode(r).finish());
  }
  for await (const r of rankStream(wired(), signal, rankerDeps)) yield RankResponse.decode(RankResponse.encode(r).finish());
};

const STEPS = ['read', 'write', 'rank', 'stream', 'stream_grpc', 'pg_select', 'pg_update'] as const;
type Step = (typeof STEPS)[number];
const chosen = new Set(args.steps.split(',').map((x) => x.trim()));
for (const x of chosen) if (!STEPS.includes(x as Step)) throw new Error(`--steps: unknown step ${x} (${STEPS.join(', ')})`);

/** Predictions a second of each step that ran, at N predictions. */
type Row = { n: number } & Partial<Record<Step, number>>;

/** Each step's run over the seeded state: how many predictions it handled. */
function steps({ database: { pool }, stateId, ids }: Seeded, n: number, grpcApi: StreamClient): Record<Step, () => Promise<number>> {
  // Pages of ids as the Ranker's answers bring them: 16 bytes each.
  const PAGE = 8192;
  const pages = Array.from({ length: Math.ceil(n / PAGE) }, (_, k) => uuidsToBytes(ids.slice(k * PAGE, (k + 1) * PAGE)));
  const header = {
    jobId: 'bench', project: PROJECT, rankerLibrary: 'builtin.breaking_ties', rankerOptionsJson: '',
    predictionType: AnnotationType.ANNOTATION_TYPE_LABELS, traceparent: '',
  };
  // The handler reads nothing but the pool; the call context nothing but the signal.
  const handlers = predictionHandlers({ pool } as ControllerDeps);
  return {
    async read() {
      let count = 0;
      for await (const page of scoreColumnsOfState(pool, stateId)) count += page.confidence.length;
      return count;
    },
    write: () => inTransaction(pool, async (client) => {
      let count = 0;
      for (const [k, page] of pages.entries()) {
        count += await setPriorities(client, stateId, page, Array.from({ length: page.length / 16 }, (_, j) => (k * PAGE + j) / n));
      }
      return count;
    }),
    rank: () => inTransaction(pool, async (client) => (await rankByColumns({
      rank: inProcessRank, signal: new AbortController().signal, progress: { updateState: () => undefined }, project: PROJECT, stateId, header, client, reader: pool,
    })).predictions),
    async stream() {
      const ctx = { signal: new AbortController().signal } as CallContext;
      let count = 0;
      for await (const m of handlers.streamPredictions(streamRequest(stateId), ctx)) {
        StreamPredictionsResponse.encode(m).finish();
        count += predictionsIn(m);
      }
      return count;
    },
    async stream_grpc() {
      let count = 0;
      for await (const m of grpcApi.streamPredictions(streamRequest(stateId))) count += predictionsIn(m);
      return count;
    },
    pg_select: async () =>
      (await pool.query<{ id: string; confidence: number; logits: number[] }>('SELECT id, confidence, logits FROM predictions WHERE state_id = $1', [stateId])).rows.length,
    pg_update: () => inTransaction(pool, async (client) => (await client.query(
      'UPDATE predictions p SET priority = u.priority FROM unnest($1::uuid[], $2::float8[]) AS u(id, priority) WHERE p.id = u.id',
      [ids, ids.map((_, j) => j / n)])).rowCount ?? 0),
  };
}

const streamRequest = (stateId: string): StreamPredictionsRequest => ({ project: PROJECT, imageId: '', modelStateId: stateId, imagesPerMessage: 1000 });

function predictionsIn(m: StreamPredictionsResponse): number {
  if (m.payload?.$case !== 'images') return 0;
  let count = 0;
  for (const image of m.payload.value.images) count += image.predictions.length;
  return count;
}

type StreamClient = Pick<Client<typeof ControllerServiceService>, 'streamPredictions'>;

/** StreamPredictions of `pool`'s database behind a gRPC server on loopback, and a client of it. */
async function grpcStream(pool: ControllerDeps['pool']): Promise<{ api: StreamClient; close(): Promise<void> }> {
  const { streamPredictions } = predictionHandlers({ pool } as ControllerDeps);
  // The one method the bench calls: implement() looks a handler up only when its method is called.
  const handlers = { streamPredictions } as ServiceHandlers<typeof ControllerServiceService>;
  const server = await startServer({
    name: 'bench', host: '127.0.0.1', port: 0, reflection: false, logger: createLogger('bench', 'warn'),
    services: [{ name: 'aide.v1.ControllerService', definition: ControllerServiceService, implementation: implement(ControllerServiceService, handlers) }],
  });
  const api = createClient(ControllerServiceService, server.address, { tracing: false });
  return { api, close: async () => { api.close(); await server.shutdown(1000); } };
}

async function measure(n: number): Promise<Row> {
  const seeded = await seed(n);
  const grpc = await grpcStream(seeded.database.pool);
  try {
    const row: Row = { n };
    for (const [step, run] of Object.entries(steps(seeded, n, grpc.api)) as [Step, () => Promise<number>][]) {
      if (chosen.has(step)) row[step] = n / await best(seeded, step, n, run);
    }
    return row;
  } finally {
    await grpc.close();
    await seeded.cleanup();
  }
}

console.log(`# ${CLASSES} logits a prediction, best of ${REPEAT}${args['after-write'] ? ', each after a write of every priority' : ''}; predictions a second`);
const rows: Row[] = [];
for (const n of sizes) {
  rows.push(await measure(n));
  console.error(`# N=${n} done`);
}
const f0 = (v: number | undefined) => (v === undefined ? '-' : Math.round(v).toString());
console.log(`| N | ${STEPS.map((x) => `${x}/s`).join(' | ')} |`);
console.log(`|---|${STEPS.map(() => '---|').join('')}`);
for (const r of rows) console.log(`| ${r.n} | ${STEPS.map((x) => f0(r[x])).join(' | ')} |`);
const last = rows.at(-1)!;
for (const x of STEPS) if (last[x] !== undefined) console.log(`figure bulk_${x}_per_s ${f0(last[x])}`);

/**
 * Model-state transfer against the wire: a state of N bytes imported through
 * the public API (ImportModelState), sent to a worker and back by a training
 * job (the fixture model's echo: storage → worker → storage, the worker
 * holding it whole as a model would), and exported (ExportModelState, the
 * client checking the bytes once as `aide states export` does), byte-exact
 * (SHA-256 of what was sent = stored = received). Reference in the
 * same run: a Node socket pair on loopback moving the same N bytes, once for
 * import and export, out and back for the round trip.
 *
 * Controller and worker run as their own processes (`services/run.ts`, as
 * deployed) on the real Postgres (its own schema) with the state folder in a
 * temporary directory; this process is the API client. The client's bytes are
 * views of one 64 MiB random buffer, so generating them costs nothing.
 *
 *   node --import tsx bench/states/transfer.ts --bytes 1000000000 [--rounds 2] [--no-sync] [--streamed]
 *
 * The worker shares the controller's state folder ([AIWorker] state_dir, as on
 * one machine or a shared volume): it reads the input state and writes the new
 * one there itself. --streamed: it does not, and both stream through the calls
 * (workers on other machines without a shared volume).
 *
 * Import and export run through both public routes, each round: gRPC
 * (ImportModelState / ExportModelState) and the state lane (plain HTTP/2,
 * libs/state-lane). `import_vs_socket` and `export_vs_socket` are the faster
 * route's (the lane's, for large states); the table shows both.
 *
 * --no-sync: the controller's state folder without fsync ([AIController] state_sync = false), to tell the
 * disk's share from the transport's. Prints `figure <name> <value>` lines and a table.
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { payload, StreamParts, toChunks, verifyAnnouncedChunks } from '../../libs/blob/index.js';
import { migrateAuth } from '../../libs/auth/schema.js';
import { TokenStore } from '../../libs/auth/tokens.js';
import { withDefaultUser } from '../../libs/db/index.js';
import { quoteIdent } from '../../libs/db/sql.js';
import { AnnotationType, JobState } from '../../libs/gen/aide/v1/common.js';
import { ControllerServiceService, type ImportModelStateRequest } from '../../libs/gen/aide/v1/controller.js';
import { createClient } from '../../libs/grpc/index.js';
import { tokenMetadata } from '../../test/support/auth.js';
import { DEFAULT_TEST_DATABASE_URL } from '../../test/support/postgres.js';
import { startServiceProcess, type ServiceProcess } from '../../test/support/service-process.js';
import { StateLaneClient } from '../../libs/state-lane/client.js';
import { freePort } from '../../test/support/free-port.js';
import { socketSeconds, statePieces } from '../support/state-bytes.js';

const { values: args } = parseArgs({ options: { bytes: { type: 'string', default: '1000000000' }, rounds: { type: 'string', default: '2' }, 'no-sync': { type: 'boolean', default: false }, streamed: { type: 'boolean', default: false } } });
const size = Number(args.bytes);
const rounds = Number(args.rounds);
const PROJECT = 'transfer';
const pieces = (hash?: Hash) => statePieces(size, hash);

const free = await statfs(tmpdir());
if (free.bavail * free.bsize < 3 * size) throw new Error(`${tmpdir()} has ${(free.bavail * free.bsize / 1e9).toFixed(1)} GB free, the benchmark needs ~${(3 * size / 1e9).toFixed(1)} GB`);

// The mesh: its own schema on the real Postgres, an admin token, a worker and a controller process.
const url = withDefaultUser(process.env.AIDE_TEST_DATABASE_URL || DEFAULT_TEST_DATABASE_URL);
const schema = `bench_transfer_${process.pid}`;
const db = new pg.Pool({ connectionString: url, max: 2, options: `-c search_path=${quoteIdent(schema)}` });
await db.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
await migrateAuth(db);
const admin = await new TokenStore(db).createToken({ name: 'bench', roles: new Map([['*', 'admin']]) }, 'bench');
const stateDir = await mkdtemp(path.join(tmpdir(), 'aide-bench-states-'));
const fixture = { AIDE_MODELS_EXTRA: './test/support/fixture-model.ts#FixtureModel' };
const services: ServiceProcess[] = [];
const worker = await startServiceProcess('worker', {
  ...fixture, AIDE_AIWORKER_HOST: '127.0.0.1', AIDE_AIWORKER_PORT: '0', AIDE_AIWORKER_MAX_STATE_BYTES: String(size + 1),
  ...(!args.streamed && { AIDE_AIWORKER_STATE_DIR: stateDir, AIDE_AIWORKER_STATE_SYNC: String(!args['no-sync']) }),
});
services.push(worker);
const lanePort = await freePort();
const controller = await startServiceProcess('controller', {
  ...fixture, AIDE_AICONTROLLER_HOST: '127.0.0.1', AIDE_AICONTROLLER_PORT: '0', AIDE_AICONTROLLER_WORKERS: worker.address,
  AIDE_AICONTROLLER_STATE_LANE_PORT: String(lanePort),
  AIDE_DATABASE_URL: url, AIDE_DATABASE_SCHEMA: schema, AIDE_AICONTROLLER_STATE_DIR: stateDir,
  AIDE_AICONTROLLER_MAX_STATE_BYTES: String(size + 1), AIDE_AICONTROLLER_STATE_SYNC: String(!args['no-sync']),
});
services.push(controller);
const c = createClient(ControllerServiceService, controller.address, { metadata: tokenMetadata(admin.secret) });
const lane = await StateLaneClient.connect(`http://127.0.0.1:${lanePort}`, { token: admin.secret });

try {
  await c.createProject({
    name: PROJECT, displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_POINTS, predictionType: AnnotationType.ANNOTATION_TYPE_POINTS,
    settings: { modelLibrary: 'test.fixture', modelOptionsJson: JSON.stringify({ steps: 1, stepMs: 1, echo: true }), rankerLibrary: '', rankerOptionsJson: '',
      autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 1, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0 },
  });
  const labelClass = (await c.addLabelClass({ project: PROJECT, name: 'x', color: '' })).labelClass!;
  // One annotated image (the fixture model does not read it): a training job is its state's round trip.
  await db.query(`INSERT INTO images (project, file_path, size_bytes, width, height) VALUES ($1, 'one.png', 1, 1, 1)`, [PROJECT]);
  const image = (await c.listImages({ project: PROJECT, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 1, pageToken: '' })).images[0]!;
  await c.upsertAnnotations({ project: PROJECT, annotations: [{ id: '', imageId: image.id, labelClassId: labelClass.id, unsure: false, author: '', createdAt: undefined, geometry: { $case: 'point', value: { x: 0.5, y: 0.5 } } }] });

  const sentSha = createHash('sha256');
  for (const _ of pieces(sentSha)) { /* the expected digest, outside any timing */ }
  const expected = sentSha.digest('hex');

  const importOnce = async () => {
    const t0 = performance.now();
    async function* requests(): AsyncGenerator<ImportModelStateRequest> {
      yield { payload: { $case: 'header', value: { project: PROJECT, modelLibrary: 'test.fixture', labelClassMap: { [labelClass.id]: 0 }, stats: {}, size, numImages: 1 } } };
      for await (const chunk of toChunks(pieces(), { totalSize: size })) yield { payload: { $case: 'chunk', value: chunk } };
    }
    const { state } = await c.importModelState(requests());
    return { seconds: (performance.now() - t0) / 1000, state: state! };
  };
  const laneImport = async () => {
    const t0 = performance.now();
    const state = await lane.upload({ project: PROJECT, modelLibrary: 'test.fixture', labelClassMap: { [labelClass.id]: 0 }, stats: {}, numImages: 1 }, size, pieces());
    return { seconds: (performance.now() - t0) / 1000, state };
  };
  const laneExport = async (id: string) => {
    const t0 = performance.now();
    const { pieces: received } = await lane.download(PROJECT, id);
    for await (const _ of received) { /* received and checked */ }
    return { seconds: (performance.now() - t0) / 1000, sha256: received.sha256!.toString('hex') };
  };
  const exportOnce = async (id: string) => {
    const t0 = performance.now();
    const parts = new StreamParts(c.exportModelState({ project: PROJECT, id }));
    const info = await parts.take(payload('info'), 'info');
    // As `aide states export` does: the bytes checked once, against the digest the last chunk carries; that
    // digest, compared with what was sent, makes the export byte-exact.
    const pieces = verifyAnnouncedChunks(parts.chunks(payload('chunk')), { size: info.sizeBytes });
    for await (const _ of pieces) { /* received and checked */ }
    return { seconds: (performance.now() - t0) / 1000, sha256: pieces.sha256!.toString('hex') };
  };
  const trainOnce = async () => {
    const t0 = performance.now();
    const { job } = await c.startTraining({ project: PROJECT, numWorkers: 1, numEpochs: 1, imageIds: [], fromScratch: false });
    let last;
    for await (const { event } of c.watchJob({ project: PROJECT, id: job!.id })) last = event;
    if (last?.state !== JobState.JOB_STATE_SUCCEEDED) throw new Error(`training failed: ${last?.message}`);
    const states = (await c.listModelStates({ project: PROJECT })).states;
    return { seconds: (performance.now() - t0) / 1000, state: states.at(-1)! };
  };

  const best = { socket: Infinity, import: Infinity, export: Infinity, roundtrip: Infinity, laneImport: Infinity, laneExport: Infinity };
  let exact = true;
  for (let round = 0; round < rounds; round++) {
    best.socket = Math.min(best.socket, await socketSeconds(size));
    const imported = await importOnce();
    best.import = Math.min(best.import, imported.seconds);
    exact &&= Buffer.from(imported.state.sha256).toString('hex') === expected;
    await c.setCurrentModelState({ project: PROJECT, id: imported.state.id });
    const trained = await trainOnce();
    best.roundtrip = Math.min(best.roundtrip, trained.seconds);
    exact &&= Buffer.from(trained.state.sha256).toString('hex') === expected;
    const exported = await exportOnce(trained.state.id);
    best.export = Math.min(best.export, exported.seconds);
    exact &&= exported.sha256 === expected;
    const laneExported = await laneExport(trained.state.id);
    best.laneExport = Math.min(best.laneExport, laneExported.seconds);
    exact &&= laneExported.sha256 === expected;
    // The lane's upload once the gRPC run's states are gone (room on disk).
    for (const s of (await c.listModelStates({ project: PROJECT })).states) await c.deleteModelState({ project: PROJECT, id: s.id });
    const laneImported = await laneImport();
    best.laneImport = Math.min(best.laneImport, laneImported.seconds);
    exact &&= Buffer.from(laneImported.state.sha256).toString('hex') === expected;
    // Room on disk for the next round: the states of this one go.
    for (const s of (await c.listModelStates({ project: PROJECT })).states) await c.deleteModelState({ project: PROJECT, id: s.id });
    console.log(`round ${round + 1}: socket ${(size / 1e6 / best.socket).toFixed(0)} MB/s, import ${imported.seconds.toFixed(2)} s (lane ${laneImported.seconds.toFixed(2)} s), round trip ${trained.seconds.toFixed(2)} s, export ${exported.seconds.toFixed(2)} s (lane ${laneExported.seconds.toFixed(2)} s), byte-exact ${exact}`);
  }
  const rate = (s: number, n = size) => (n / 1e6 / s).toFixed(0);
  console.log(`\n| what (${(size / 1e9).toFixed(2)} GB, best of ${rounds}${args['no-sync'] ? ', state folder without fsync' : ''}) | s | MB/s | ÷ socket |`);
  console.log('|---|---:|---:|---:|');
  console.log(`| Node socket pair, loopback | ${best.socket.toFixed(2)} | ${rate(best.socket)} | 1 |`);
  console.log(`| ImportModelState (client → controller → folder) | ${best.import.toFixed(2)} | ${rate(best.import)} | ${(best.socket / best.import).toFixed(2)} |`);
  console.log(`| training job, echo (folder → worker → folder${args.streamed ? ', streamed through the calls' : ', the worker sharing the folder'}), bytes moved 2×N | ${best.roundtrip.toFixed(2)} | ${rate(best.roundtrip, 2 * size)} | ${(2 * best.socket / best.roundtrip).toFixed(2)} |`);
  console.log(`| ExportModelState (folder → controller → client) | ${best.export.toFixed(2)} | ${rate(best.export)} | ${(best.socket / best.export).toFixed(2)} |`);
  console.log(`| state lane PUT (client → controller → folder, HTTP/2) | ${best.laneImport.toFixed(2)} | ${rate(best.laneImport)} | ${(best.socket / best.laneImport).toFixed(2)} |`);
  console.log(`| state lane GET (folder → controller → client, HTTP/2) | ${best.laneExport.toFixed(2)} | ${rate(best.laneExport)} | ${(best.socket / best.laneExport).toFixed(2)} |`);
  const suffix = `${args['no-sync'] ? '_nosync' : ''}${args.streamed ? '_streamed' : ''}`;
  console.log(`figure import_vs_socket_grpc${suffix} ${(best.socket / best.import).toFixed(3)}`);
  console.log(`figure export_vs_socket_grpc${suffix} ${(best.socket / best.export).toFixed(3)}`);
  console.log(`figure import_vs_socket_lane${suffix} ${(best.socket / best.laneImport).toFixed(3)}`);
  console.log(`figure export_vs_socket_lane${suffix} ${(best.socket / best.laneExport).toFixed(3)}`);
  console.log(`figure import_vs_socket${suffix} ${(best.socket / Math.min(best.import, best.laneImport)).toFixed(3)}`);
  console.log(`figure export_vs_socket${suffix} ${(best.socket / Math.min(best.export, best.laneExport)).toFixed(3)}`);
  console.log(`figure state_roundtrip_vs_socket${suffix} ${(2 * best.socket / best.roundtrip).toFixed(3)}`);
  console.log(`figure state_bytes_exact ${exact ? 1 : 0}`);
  if (exact) console.log(`figure largest_state_gb ${(size / 1e9).toFixed(2)}`);
} finally {
  c.close();
  lane.close();
  for (const s of services) s.kill('SIGTERM');
  await Promise.all(services.map((s) => s.exited));
  await db.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
  await db.end();
  await rm(stateDir, { recursive: true, force: true });
}

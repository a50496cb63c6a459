/**
 * The mesh end to end on the real Postgres and NATS: the controller and two
 * workers as their own processes (so they can be killed), the Ranker and
 * FileServer in-process, the fixture model (weights vector; training adds
 * per-image features; averaging is the image-weighted mean).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { openDatabase, quoteIdent } from '../../libs/db/index.js';
import { isAideError } from '../../libs/errors.js';
import { AnnotationType, JobKind, JobState, type ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import { AdminServiceService } from '../../libs/gen/aide/v1/admin.js';
import { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import { createClient, type Client } from '../../libs/grpc/index.js';
import { Config } from '../../libs/config/config.js';
import { createLogger } from '../../libs/log.js';
import { OPEN_FILE_ACCESS } from '../../services/fileserver/auth.js';
import { startFileServer } from '../../services/fileserver/main.js';
import { startRanker } from '../../services/ranker/main.js';
import { tokenMetadata, withTokens } from '../support/auth.js';
import { decodeWeights } from '../support/fixture-model.js';
import { realNatsUrl } from '../support/nats.js';
import { realPostgresUrl, serversRequired, uniqueSchemaName } from '../support/postgres.js';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.js';
import { waitUntil } from '../support/wait.js';

const logger = createLogger('test', 'silent');
type Controller = Client<typeof ControllerServiceService>;

const pgUrl = await realPostgresUrl();
const natsUrl = await realNatsUrl();
const missing = [!pgUrl && 'Postgres', !natsUrl && 'NATS'].filter(Boolean).join(' and ');
if (missing && serversRequired()) throw new Error(`AIDE_TEST_REQUIRE_SERVERS=1 but the real ${missing} is not reachable`);
if (missing) console.log(`skipped real-server mesh suite: no ${missing}`);

test('the mesh on real Postgres and NATS: distributed training, inference, ranking, faults, restarts, auto-train', { skip: missing ? `no real ${missing}` : false }, async (t) => {
  const schema = uniqueSchemaName('mesh');
  const prefix = schema;
  const stream = `T_${schema.toUpperCase()}`;
  const db = await openDatabase({ url: pgUrl!, schema, logger });
  const root = mkdtempSync(join(tmpdir(), 'aide-mesh-'));
  // The controller's state folder, kept across its restart below.
  const stateDir = mkdtempSync(join(tmpdir(), 'aide-mesh-states-'));
  t.after(() => rmSync(stateDir, { recursive: true, force: true }));
  const files = await startFileServer(Config.load({ env: { AIDE_SECURITY_PLAINTEXT: 'true', AIDE_FILESERVER_HOST: '127.0.0.1', AIDE_FILESERVER_PORT: '0', AIDE_FILESERVER_HTTP_PORT: '0', AIDE_FILESERVER_ROOT: root } }), logger, { access: OPEN_FILE_ACCESS });
  const ranker = await startRanker(Config.load({ env: { AIDE_SECURITY_PLAINTEXT: 'true', AIDE_RANKER_HOST: '127.0.0.1', AIDE_RANKER_PORT: '0' } }), logger);
  const common = {
    AIDE_MODELS_EXTRA: './test/support/fixture-model.ts#FixtureModel',
    AIDE_NATS_URL: natsUrl!, AIDE_NATS_SUBJECT_PREFIX: prefix, AIDE_NATS_STREAM: stream,
  };
  const workerEnv = { ...common, AIDE_AIWORKER_HOST: '127.0.0.1', AIDE_AIWORKER_PORT: '0', AIDE_AIWORKER_BACKEND: 'cpu', AIDE_AIWORKER_FILESERVER: files.addresses.grpc! };
  const workers: ServiceProcess[] = await Promise.all([startServiceProcess('worker', workerEnv), startServiceProcess('worker', workerEnv)]);
  const controllerEnv = {
    ...common,
    AIDE_DATABASE_URL: pgUrl!, AIDE_DATABASE_SCHEMA: schema, AIDE_AICONTROLLER_STATE_DIR: stateDir,
    AIDE_AICONTROLLER_HOST: '127.0.0.1', AIDE_AICONTROLLER_PORT: '0',
    AIDE_AICONTROLLER_WORKERS: workers.map((w) => w.address).join(','),
    AIDE_AICONTROLLER_WORKERS_RESOLVE_INTERVAL_S: '0.5',
    AIDE_AICONTROLLER_RANKER: ranker.addresses.grpc!, AIDE_AICONTROLLER_FILESERVER: files.addresses.grpc!,
    AIDE_AICONTROLLER_CONTROLLER_ID: 'controller-a', AIDE_AICONTROLLER_LEASE_S: '3',
  };
  let controller = await startServiceProcess('controller', controllerEnv);
  const tokens = await withTokens(db.pool);
  const metadata = tokenMetadata(await tokens.secretFor({ '*': 'admin' }));
  let c: Controller = createClient(ControllerServiceService, controller.address, { metadata });
  t.after(async () => {
    c.close();
    controller.kill();
    for (const w of workers) w.kill();
    await ranker.shutdown(500);
    await files.shutdown(500);
    await db.pool.query(`DROP SCHEMA ${quoteIdent(schema)} CASCADE`);
    await db.close();
    const nc = await connect({ servers: natsUrl! });
    await (await nc.jetstreamManager()).streams.delete(stream).catch(() => false);
    await nc.close();
  });

  // A project of 8 images; 4 get one point each.
  const project = 'fauna';
  mkdirSync(join(root, project, 'img'), { recursive: true });
  for (let i = 0; i < 8; i++) writeFileSync(join(root, project, 'img', `${i}.jpg`), `image ${i}`);
  await c.createProject({
    name: project, displayName: 'e2e', annotationType: AnnotationType.ANNOTATION_TYPE_POINTS, predictionType: AnnotationType.ANNOTATION_TYPE_POINTS,
    settings: {
      modelLibrary: 'test.fixture', modelOptionsJson: JSON.stringify({ steps: 4, stepMs: 5 }), rankerLibrary: 'builtin.max_confidence', rankerOptionsJson: '',
      autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 2, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
    },
  });
  const { labelClass } = await c.addLabelClass({ project, name: 'zebra', color: '#000000' });
  assert.equal((await c.registerImages({ project, prefix: 'img' })).added, 8);
  const images = (await c.listImages({ project, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 100, pageToken: '' })).images
    .sort((a, b) => a.filePath.localeCompare(b.filePath));
  const xs = [0.1, 0.2, 0.3, 0.4];
  const point = (i: number) => ({ id: '', imageId: images[i]!.id, labelClassId: labelClass!.id, unsure: false, author: '', createdAt: undefined,
    geometry: { $case: 'point' as const, value: { x: xs[i % 4]!, y: 0.5 } } });
  await c.upsertAnnotations({ project, annotations: [0, 1, 2, 3].map(point) });

  const finish = async (jobId: string): Promise<ProgressEvent[]> => {
    const events: ProgressEvent[] = [];
    for await (const { event } of c.watchJob({ project, id: jobId })) if (event) events.push(event);
    return events;
  };
  const stateWeights = async (id: string) => {
    const parts: Buffer[] = [];
    for await (const m of c.exportModelState({ project, id })) if (m.payload?.$case === 'chunk') parts.push(m.payload.value.data);
    return decodeWeights(Buffer.concat(parts));
  };

  await t.test('train on 2 workers: the stored state is the shard-size-weighted mean of the shard states; then inference and ranking', async () => {
    const { job } = await c.startTraining({ project, numWorkers: 2, numEpochs: 1, imageIds: [], fromScratch: false });
    const events = await finish(job!.id);
    assert.equal(events.at(-1)!.state, JobState.JOB_STATE_SUCCEEDED, events.at(-1)!.message);
    assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1), 'ordered, gapless events');
    const states = (await c.listModelStates({ project })).states;
    assert.deepEqual(states.map((s) => s.version), [1]);
    // Two shards of 2 images from a fresh model: each shard's state is [2, 2, Σx, Σy]; weights 2 and 2.
    const w = await stateWeights(states[0]!.id);
    const sumX = xs.reduce((a, b) => a + b, 0);
    [2, 2, sumX / 2, 0.5 * 4 / 2].forEach((v, j) => assert.ok(Math.abs(w[j]! - v) < 1e-9, `weight ${j}: ${w[j]} vs ${v}`));
    assert.equal(states[0]!.numImages, 4);

    const inference = await c.startInference({ project, imageIds: [], goldenQuestionsOnly: false, numWorkers: 2, modelStateId: '', includeAnnotated: false });
    assert.equal((await finish(inference.job!.id)).at(-1)!.state, JobState.JOB_STATE_SUCCEEDED);
    const ranking = await c.startRanking({ project, modelStateId: '' });
    assert.equal((await finish(ranking.job!.id)).at(-1)!.state, JobState.JOB_STATE_SUCCEEDED);
    const predictions = (await c.listPredictions({ project, imageId: '', modelStateId: '', pageSize: 100, pageToken: '' })).predictions;
    assert.equal(predictions.length, 4, 'one prediction per unannotated image');
    assert.deepEqual(new Set(predictions.map((p) => p.imageId)), new Set(images.slice(4).map((i) => i.id)));
    // max_confidence: priority = the largest class probability (the fixture's logits are [c, 1 - c]), stored for each one.
    for (const p of predictions) assert.ok(Math.abs(p.priority - Math.max(...p.logits)) < 1e-9, `priority ${p.priority} for logits ${p.logits}`);
    const batch = await c.nextBatch({ project, limit: 4, pathPrefix: '', excludePrefixes: [], pageToken: '' });
    assert.deepEqual([...batch.priorities].sort((a, b) => b - a), batch.priorities);
  });

  await t.test('kill -9 of a worker mid-training: its shard moves to the other worker and the job succeeds', async () => {
    await c.updateProjectSettings({ project, settings: { ...(await c.getProject({ project })).project!.settings!, modelOptionsJson: JSON.stringify({ steps: 40, stepMs: 25 }) } });
    const { job } = await c.startTraining({ project, numWorkers: 2, numEpochs: 1, imageIds: [], fromScratch: false });
    const watch = finish(job!.id);
    const victim = workers[0]!;
    await waitUntil('the shards to report training', async () => (await c.getJob({ project, id: job!.id })).job!.message.includes('training'));
    victim.kill('SIGKILL');
    const events = await watch;
    assert.equal(events.at(-1)!.state, JobState.JOB_STATE_SUCCEEDED, events.at(-1)!.message);
    // The shard the victim held was retried on the other worker, as the controller reports it.
    const moved = controller.logs.filter((e) => e.msg === 'worker lost; retrying elsewhere' && e.worker === victim.address);
    assert.equal(moved.length, 1, `the victim's shard moved once: ${JSON.stringify(moved)}`);
    assert.match(String(moved[0]!.what), /^shard [12]\/2$/);
    const states = (await c.listModelStates({ project })).states;
    assert.deepEqual(states.map((s) => s.version).sort(), [1, 2]);
    assert.equal(states.find((s) => s.version === 2)!.numImages, 4, 'every annotated image trained, the moved shard\'s too');
    workers[0] = await startServiceProcess('worker', workerEnv); // back to two for what follows (a new address: the old one stays dead)
  });

  await t.test('a controller killed mid-job: the restarted one finishes it once; versions stay contiguous', async () => {
    const { job } = await c.startTraining({ project, numWorkers: 1, numEpochs: 1, imageIds: [], fromScratch: false });
    await waitUntil('the job to report training', async () => (await c.getJob({ project, id: job!.id })).job!.message.includes('training'));
    controller.kill('SIGKILL');
    await controller.exited;
    c.close();
    controller = await startServiceProcess('controller', { ...controllerEnv, AIDE_AICONTROLLER_WORKERS: workers.map((w) => w.address).join(',') });
    c = createClient(ControllerServiceService, controller.address, { metadata });
    const events = await finish(job!.id);
    assert.equal(events.at(-1)!.state, JobState.JOB_STATE_SUCCEEDED, events.at(-1)!.message);
    const final = (await c.getJob({ project, id: job!.id })).job!;
    assert.equal(final.attempts, 2, 'claimed once before and once after the restart');
    const versions = (await c.listModelStates({ project })).states.map((s) => s.version).sort((a, b) => a - b);
    assert.deepEqual(versions, [1, 2, 3]);
  });

  await t.test('cancel reaches the workers; a cancelled job stores nothing', async () => {
    const { job } = await c.startTraining({ project, numWorkers: 2, numEpochs: 1, imageIds: [], fromScratch: false });
    await waitUntil('the job to report training', async () => (await c.getJob({ project, id: job!.id })).job!.message.includes('training'));
    await c.cancelJob({ project, id: job!.id });
    const events = await finish(job!.id);
    assert.equal(events.at(-1)!.state, JobState.JOB_STATE_CANCELLED);
    assert.equal((await c.getJob({ project, id: job!.id })).job!.state, JobState.JOB_STATE_CANCELLED);
    assert.equal((await c.listModelStates({ project })).states.length, 3, 'no state stored');
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM model_states WHERE project = $1`, [project]);
    assert.equal(rows[0].n, 3, 'no partial state either');
  });

  await t.test('auto-train fires exactly once when concurrent annotation writes cross the threshold', async () => {
    const settings = (await c.getProject({ project })).project!.settings!;
    await c.updateProjectSettings({ project, settings: { ...settings, modelOptionsJson: JSON.stringify({ steps: 2, stepMs: 5 }), autoTrain: { enabled: true, minNewAnnotations: 8, numWorkers: 1, numEpochs: 1 } } });
    await db.pool.query('UPDATE projects SET annotations_since_training = 0 WHERE name = $1', [project]);
    await Promise.all(Array.from({ length: 10 }, (_, i) => c.upsertAnnotations({ project, annotations: [point(4 + (i % 4))] })));
    const workflows = (await c.listJobs({ project, state: 0, kind: JobKind.JOB_KIND_WORKFLOW, pageSize: 50, pageToken: '' })).jobs;
    assert.equal(workflows.length, 1, 'one workflow');
    const events = await finish(workflows[0]!.id);
    assert.equal(events.at(-1)!.state, JobState.JOB_STATE_SUCCEEDED, events.at(-1)!.message);
    const { rows } = await db.pool.query('SELECT annotations_since_training AS n FROM projects WHERE name = $1', [project]);
    assert.equal(rows[0].n, 0, 'the training consumed every annotation counted so far');
    assert.equal((await c.listJobs({ project, state: 0, kind: JobKind.JOB_KIND_WORKFLOW, pageSize: 50, pageToken: '' })).jobs.length, 1, 'still exactly one');
  });

  await t.test('the audit trail names who started, cancelled and reconfigured, and exported', async () => {
    const admin = createClient(AdminServiceService, controller.address, { metadata });
    const states = (await c.listModelStates({ project })).states;
    for await (const _ of c.exportModelState({ project, id: states[0]!.id })) { /* drain */ }
    const { events } = await admin.listAuditEvents({ project, pageSize: 200, pageToken: '' });
    admin.close();
    const actions = new Set(events.map((e) => e.action));
    for (const a of ['project.create', 'job.start', 'job.cancel', 'project.settings', 'model_state.export']) assert.ok(actions.has(a), `audited ${a}`);
    assert.ok(events.every((e) => e.actor.startsWith('token:') && e.project === project));
    assert.ok(events.some((e) => e.action === 'model_state.export' && e.target === states[0]!.id));
  });

  await t.test('with no worker reachable a job waits QUEUED, saying why', async () => {
    for (const w of workers) w.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await new Promise((r) => setTimeout(r, 1500));
    const { job } = await c.startTraining({ project, numWorkers: 1, numEpochs: 1, imageIds: [], fromScratch: false });
    let seen = job!;
    for (let i = 0; i < 40 && !seen.message.includes('waiting for a worker'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      seen = (await c.getJob({ project, id: job!.id })).job!;
    }
    assert.equal(seen.state, JobState.JOB_STATE_QUEUED);
    assert.match(seen.message, /waiting for a worker/);
    await c.cancelJob({ project, id: job!.id });
    await assert.rejects(c.getJob({ project, id: 'not-a-uuid' }), (e: unknown) => isAideError(e, 'INVALID_ARGUMENT'));
  });
});

/**
 * The whole mesh as separate processes for fault tests: controller, workers,
 * FileServer and Ranker each `services/run.ts <name>` on a port of their own
 * (kept across restarts, so peers find a restarted service where it was), on
 * the real Postgres (a schema per mesh; each service's connections carry an
 * application_name naming the mesh, so a test can cut exactly those) and NATS
 * (the shared server on subjects and a stream of the mesh's own, or a
 * nats-server of its own that the test may kill).
 *
 *   const mesh = await startMesh(t, { tls: true, workers: 2 });
 *   const project = await mesh.labelsProject('birds', { images: 200 });
 *   const events = await mesh.finish(project.name, await startTraining(mesh.api, project.name, 2));
 *   await mesh.fileServer.kill();  await mesh.fileServer.restart();
 *
 * Security: `tls: true` is mTLS from a throwaway CA (the controller and the
 * FileServer take clients without certificates, by token); `tls: false` is
 * plaintext with a shared mesh token ([Security] mesh_token). Everything
 * started is stopped, and the schema, stream and temp dirs removed, after
 * the test (t.after), whether it passed or not.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import pg from 'pg';
import sharp from 'sharp';
import type * as grpc from '@grpc/grpc-js';
import { migrateAuth } from '../../libs/auth/schema.js';
import { TokenStore } from '../../libs/auth/tokens.js';
import { NatsBus } from '../../libs/bus/nats-bus.js';
import { quoteIdent } from '../../libs/db/sql.js';
import { FileServerClient } from '../../libs/fileserver-client/index.js';
import { AnnotationType, JobState, type Job, type ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import { ControllerServiceService, StartInferenceRequest, StartTrainingRequest, StartWorkflowRequest, WorkflowStep } from '../../libs/gen/aide/v1/controller.js';
import { channelCredentials, createClient, type Client, type TlsSettings } from '../../libs/grpc/index.js';
import { tokenMetadata } from '../support/auth.js';
import { checkHealth } from '../support/health.js';
import { realNatsUrl } from '../support/nats.js';
import { realPostgresUrl, serversRequired, uniqueSchemaName } from '../support/postgres.js';
import { freePort } from '../support/free-port.js';
import { CPU_PROFILE_DIR, startServiceProcess, type ServiceProcess } from '../support/service-process.js';
import { waitUntil } from '../support/wait.js';
import { createPki, type Pki } from '../security/pki.js';

export type Controller = Client<typeof ControllerServiceService>;
export type ServiceName = 'controller' | 'worker' | 'fileserver' | 'ranker';

const SECTION: Record<ServiceName, string> = { controller: 'AICONTROLLER', worker: 'AIWORKER', fileserver: 'FILESERVER', ranker: 'RANKER' };
const HEALTH_SERVICE: Record<ServiceName, string> = {
  controller: 'aide.v1.ControllerService', worker: 'aide.v1.WorkerService', fileserver: 'aide.v1.FileService', ranker: 'aide.v1.RankerService',
};

/** Why the real servers the mesh needs are missing (the test skips), or undefined. Throws under AIDE_TEST_REQUIRE_SERVERS=1. */
export async function meshUnavailable(): Promise<string | undefined> {
  const missing = [!(await realPostgresUrl()) && 'Postgres', !(await realNatsUrl()) && 'NATS'].filter(Boolean).join(' and ');
  if (!missing) return undefined;
  if (serversRequired()) throw new Error(`AIDE_TEST_REQUIRE_SERVERS=1 but the real ${missing} is not reachable`);
  return `no real ${missing}`;
}

/** The worker id (ProgressEvent.worker_id) of mesh.workers[i]. */
export const workerId = (i: number): string => `worker-${i}`;

/** One service of the mesh: the process now running (replaced by restart) and how to stop or replace it. */
export class MeshService {
  #process: ServiceProcess | undefined;

  constructor(
    readonly name: ServiceName,
    readonly address: string,
    private readonly env: () => Record<string, string>,
    private readonly credentials: () => grpc.ChannelCredentials,
  ) {}

  /** The running process's id (for its memory, /proc/<pid>/status), or undefined before start. */
  get pid(): number | undefined { return this.#process?.child.pid; }

  get running(): boolean { return this.#process !== undefined && this.#process.child.exitCode === null && this.#process.child.signalCode === null; }

  /** Starts the process and waits until its health check answers SERVING. */
  async start(extraEnv: Record<string, string> = {}): Promise<void> {
    this.#process = await startServiceProcess(this.name, { ...this.env(), ...extraEnv });
    let last = '';
    await waitUntil(`${this.name} SERVING`, async () => {
      last = await checkHealth(this.address, HEALTH_SERVICE[this.name], this.credentials()).catch((err: Error) => err.message);
      return last === 'SERVING';
    }, 20_000, 50).catch((err: Error) => { throw new Error(`${err.message} (last answer: ${last})`); });
  }

  /** Sends `signal` (default SIGKILL) and waits for the exit; the exit code (null when killed by a signal). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const p = this.#process;
    if (!p) return null;
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
    return p.exited;
  }

  async restart(extraEnv?: Record<string, string>): Promise<void> {
    await this.kill();
    await this.start(extraEnv);
  }
}

/** A nats-server of the mesh's own (JetStream in a temp dir, kept across restarts), for tests that kill it. */
export class NatsProcess {
  #child: ReturnType<typeof spawn> | undefined;
  #exited: Promise<unknown> = Promise.resolve();

  constructor(readonly port: number, private readonly storeDir: string) {}

  get url(): string { return `nats://127.0.0.1:${this.port}`; }

  async start(): Promise<void> {
    const child = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir], { stdio: 'ignore' });
    this.#child = child;
    this.#exited = once(child, 'exit');
    await waitUntil('nats-server accepting connections', async () => {
      const nc = await connect({ servers: this.url, reconnect: false, timeout: 500 }).catch(() => undefined);
      await nc?.close();
      return nc !== undefined;
    }, 10_000, 50);
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await this.#exited;
  }
}

export interface MeshOptions {
  /** mTLS (true) or plaintext with a shared mesh token (false). */
  tls: boolean;
  /** Worker processes (default 1). */
  workers?: number;
  /** Run a nats-server of the mesh's own instead of using the shared one (for tests that kill NATS). */
  ownNats?: boolean;
  /** Start the Ranker (default true; only rank jobs and workflows need it). */
  ranker?: boolean;
  /** Added to every service's environment (e.g. drain deadlines). */
  env?: Record<string, string>;
}

export interface WatchedJob {
  events: ProgressEvent[];
  /** Resolves with every event once the stream ends (after the terminal event); rejects with the stream's error. */
  done: Promise<ProgressEvent[]>;
}

export interface Mesh {
  api: Controller;
  /** The mesh's own schema on the real Postgres (a pool for assertions and faults). */
  db: pg.Pool;
  schema: string;
  /** application_name of the controller's database connections. */
  controllerAppName: string;
  /** The controller's state folder ([AIController] state_dir), kept across its restarts. */
  stateDir: string;
  controller: MeshService;
  workers: MeshService[];
  fileServer: MeshService;
  ranker: MeshService;
  nats?: NatsProcess;
  /** A client of the FileServer for `project`, with the admin token. */
  files(project: string): FileServerClient;
  /** A project of tiny generated images with one label each; see labelsProject. */
  labelsProject(name: string, opts: LabelsProjectOptions): Promise<LabelsProject>;
  /** A points project for the test fixture model (test.fixture); images are tiny PNGs, every other one annotated. */
  fixtureProject(name: string, opts: FixtureProjectOptions): Promise<LabelsProject>;
  /** Streams the job's events (WatchJob) until it ends; fails after `timeoutMs` (default 60 s) rather than hang. */
  watch(project: string, jobId: string, timeoutMs?: number): WatchedJob;
  /** WatchJob until the end: every event, the last terminal. */
  finish(project: string, jobId: string): Promise<ProgressEvent[]>;
  job(project: string, jobId: string): Promise<Job>;
  /** Polls GetJob until `check` holds (e.g. progress under way). */
  waitForJob(project: string, jobId: string, what: string, check: (job: Job) => boolean | Promise<boolean>, timeoutMs?: number): Promise<Job>;
  /**
   * The events workers publish for the project's jobs from now on (the job's
   * own events, which WatchJob streams, come from the controller): which
   * worker runs what. Listening until the test ends.
   */
  workerEvents(project: string): Promise<ProgressEvent[]>;
}

export interface LabelsProjectOptions {
  images: number;
  /** Images labelled (the first ones); default all. */
  labelled?: number;
  modelLibrary?: string;
  modelOptionsJson?: string;
}

export type FixtureProjectOptions = Omit<LabelsProjectOptions, 'modelLibrary'> & { steps: number; stepMs: number };

export interface LabelsProject {
  name: string;
  /** Image ids by file path (img/0000.png, ...). */
  images: Map<string, string>;
  /** Ids of the images without annotations. */
  unlabelled: string[];
  labelClasses: string[];
}

/** Options of the built-in classifier at its smallest: 16×16, width 4, one epoch, one thread. */
export function tinyClassifierOptions(): string {
  return JSON.stringify({
    options: {
      network: { inputSize: { value: 16 }, width: { value: 4 }, depth: { value: 1 } },
      training: { epochs: { value: 1 }, batchSize: { value: 32 }, validationFraction: { value: 0 } },
      runtime: { threads: { value: 1 } },
    },
  });
}

/** A 16×16 PNG: class 0 reddish, class 1 bluish, with a little per-image variation. */
async function tinyPng(i: number, label: number): Promise<Buffer> {
  const pixels = Buffer.alloc(16 * 16 * 3);
  for (let p = 0; p < 256; p++) {
    const shade = (i * 13 + p * 7) % 40;
    pixels[p * 3] = label === 0 ? 200 + shade : 20 + shade;
    pixels[p * 3 + 1] = 40 + shade;
    pixels[p * 3 + 2] = label === 0 ? 20 + shade : 200 + shade;
  }
  return sharp(pixels, { raw: { width: 16, height: 16, channels: 3 } }).png().toBuffer();
}

/** Runs `work` on every item, `lanes` at a time. */
async function inLanes<T>(items: readonly T[], lanes: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i]!, i);
    }
  }));
}

/** Where the mesh registers its teardown: a test's context (t.after), or a benchmark's own list. */
export interface Teardown {
  after(fn: () => unknown): void;
}

export async function startMesh(t: Teardown, opts: MeshOptions): Promise<Mesh> {
  const pgUrl = (await realPostgresUrl())!;
  const sharedNats = (await realNatsUrl())!;
  const schema = uniqueSchemaName('faults');
  const stream = `T_${schema.toUpperCase()}`;
  const dir = mkdtempSync(join(tmpdir(), 'aide-faults-'));
  const root = join(dir, 'files');
  mkdirSync(root);
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  // Last registered runs first: processes stop before the schema and the dir go.
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch((err) => console.error('mesh cleanup:', err));
  });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

  const appName = (service: string) => `aide_${service}_${schema}`;
  const dbUrl = (service: string) => {
    const url = new URL(pgUrl);
    url.searchParams.set('application_name', appName(service));
    return url.toString();
  };
  const db = new pg.Pool({ connectionString: dbUrl('test'), max: 4, options: `-c search_path=${quoteIdent(schema)}` });
  db.on('error', () => {});
  await db.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
  cleanups.push(async () => {
    await db.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    await db.end();
  });
  // The auth tables before any service opens them (the FileServer and the controller both migrate them).
  await migrateAuth(db);
  const admin = await new TokenStore(db).createToken({ name: 'faults-admin', roles: new Map([['*', 'admin']]) }, 'test');
  const metadata = tokenMetadata(admin.secret);

  let nats: NatsProcess | undefined;
  if (opts.ownNats) {
    nats = new NatsProcess(await freePort(), join(dir, 'jetstream'));
    await nats.start();
    cleanups.push(() => nats!.kill());
  } else {
    cleanups.push(async () => {
      const nc = await connect({ servers: sharedNats });
      await (await nc.jetstreamManager()).streams.delete(stream).catch(() => false);
      await nc.close();
    });
  }

  // Security: a throwaway CA with a certificate per service, or plaintext with a mesh token.
  let pki: Pki | undefined;
  const security: Record<ServiceName, Record<string, string>> = { controller: {}, worker: {}, fileserver: {}, ranker: {} };
  let clientTls: TlsSettings = { plaintext: true };
  if (opts.tls) {
    pki = createPki(dir, 'mesh-ca');
    for (const name of Object.keys(security) as ServiceName[]) {
      const cert = pki.issue(name, { uri: `spiffe://aide/${name}` });
      security[name] = { AIDE_SECURITY_PLAINTEXT: 'false', AIDE_SECURITY_TLS_CERT: cert.cert, AIDE_SECURITY_TLS_KEY: cert.key, AIDE_SECURITY_TLS_CA: pki.ca };
    }
    // The public faces take users by token without a certificate; peers still by certificate.
    security.controller.AIDE_SECURITY_REQUIRE_CLIENT_CERT = 'false';
    security.fileserver.AIDE_SECURITY_REQUIRE_CLIENT_CERT = 'false';
    clientTls = { plaintext: false, caFile: pki.ca };
  } else {
    const meshToken = randomBytes(24).toString('hex');
    for (const name of Object.keys(security) as ServiceName[]) security[name] = { AIDE_SECURITY_PLAINTEXT: 'true', AIDE_SECURITY_MESH_TOKEN: meshToken };
  }
  // Health checks as a mesh peer would make them.
  const probe = pki?.issue('probe');
  const peerTls: TlsSettings = pki && probe ? { plaintext: false, caFile: pki.ca, certFile: probe.cert, keyFile: probe.key } : { plaintext: true };
  const peerCredentials = () => channelCredentials(peerTls);

  const ports = { controller: await freePort(), fileserver: await freePort(), ranker: await freePort(), workers: [] as number[] };
  for (let i = 0; i < (opts.workers ?? 1); i++) ports.workers.push(await freePort());
  const address = (port: number) => `127.0.0.1:${port}`;
  const natsEnv = () => ({ AIDE_NATS_URL: nats?.url ?? sharedNats, AIDE_NATS_SUBJECT_PREFIX: schema, AIDE_NATS_STREAM: stream });
  const listen = (name: ServiceName, port: number) => ({
    [`AIDE_${SECTION[name]}_HOST`]: '127.0.0.1', [`AIDE_${SECTION[name]}_PORT`]: String(port),
  });
  const fixtureModels = { AIDE_MODELS_EXTRA: './test/support/fixture-model.ts#FixtureModel' };

  const fileServer = new MeshService('fileserver', address(ports.fileserver), () => ({
    ...security.fileserver, ...listen('fileserver', ports.fileserver), ...opts.env,
    AIDE_FILESERVER_HTTP_PORT: '0', AIDE_FILESERVER_ROOT: root,
    AIDE_DATABASE_URL: dbUrl('fileserver'), AIDE_DATABASE_SCHEMA: schema,
  }), peerCredentials);
  const ranker = new MeshService('ranker', address(ports.ranker), () => ({ ...security.ranker, ...listen('ranker', ports.ranker), ...opts.env }), peerCredentials);
  const workers = ports.workers.map((port, i) => new MeshService('worker', address(port), () => ({
    ...security.worker, ...listen('worker', port), ...natsEnv(), ...fixtureModels, ...opts.env,
    AIDE_AIWORKER_WORKER_ID: workerId(i), AIDE_AIWORKER_BACKEND: 'cpu', AIDE_AIWORKER_FILESERVER: fileServer.address,
  }), peerCredentials));
  const controller = new MeshService('controller', address(ports.controller), () => ({
    ...security.controller, ...listen('controller', ports.controller), ...natsEnv(), ...fixtureModels, ...opts.env,
    AIDE_DATABASE_URL: dbUrl('controller'), AIDE_DATABASE_SCHEMA: schema, AIDE_AICONTROLLER_STATE_DIR: join(dir, 'states'),
    AIDE_AICONTROLLER_WORKERS: workers.map((w) => w.address).join(','),
    AIDE_AICONTROLLER_WORKERS_RESOLVE_INTERVAL_S: '0.5',
    AIDE_AICONTROLLER_RANKER: ranker.address, AIDE_AICONTROLLER_FILESERVER: fileServer.address,
    AIDE_AICONTROLLER_CONTROLLER_ID: `controller-${schema}`, AIDE_AICONTROLLER_LEASE_S: '2',
  }), peerCredentials);
  const services = [fileServer, ranker, ...workers, controller];
  cleanups.push(() => Promise.all(services.map((s) => s.kill(CPU_PROFILE_DIR ? 'SIGTERM' : 'SIGKILL'))));
  await Promise.all([fileServer.start(), ...(opts.ranker ?? true ? [ranker.start()] : []), ...workers.map((w) => w.start())]);
  await controller.start();

  // A restarted controller listens where it did: the channel reconnects by itself.
  const api = createClient(ControllerServiceService, controller.address, { credentials: channelCredentials(clientTls), metadata });
  const fileClients: FileServerClient[] = [];
  cleanups.push(() => { api.close(); for (const f of fileClients) f.close(); });

  const mesh: Mesh = {
    api, db, schema, controllerAppName: appName('controller'), stateDir: join(dir, 'states'),
    controller, workers, fileServer, ranker, nats,
    files(project) {
      const client = new FileServerClient({ address: fileServer.address, project, credentials: channelCredentials(clientTls), metadata });
      fileClients.push(client);
      return client;
    },
    labelsProject: (name, o) => createLabelsProject(mesh, name, o),
    fixtureProject: (name, o) => createLabelsProject(mesh, name, {
      ...o, modelLibrary: 'test.fixture', modelOptionsJson: JSON.stringify({ steps: o.steps, stepMs: o.stepMs }),
    }),
    watch(project, jobId, timeoutMs = 60_000) {
      const events: ProgressEvent[] = [];
      const signal = AbortSignal.timeout(timeoutMs);
      const done = (async () => {
        try {
          for await (const { event } of api.watchJob({ project, id: jobId }, { signal })) if (event) events.push(event);
        } catch (err) {
          if (!signal.aborted) throw err;
        }
        if (signal.aborted) throw new Error(`job ${jobId} did not end within ${timeoutMs} ms; its events: ${JSON.stringify(events.map((e) => e.message))}`);
        return events;
      })();
      done.catch(() => {}); // the caller awaits it; not an unhandled rejection meanwhile
      return { events, done };
    },
    finish: (project, jobId) => mesh.watch(project, jobId).done,
    job: async (project, id) => (await api.getJob({ project, id })).job!,
    waitForJob: (project, id, what, check, timeoutMs = 30_000) =>
      waitUntil(what, async () => { const job = await mesh.job(project, id); return (await check(job)) && job; }, timeoutMs, 20),
    async workerEvents(project) {
      const nc = await connect({ servers: nats?.url ?? sharedNats, name: `faults-${schema}` });
      const bus = await NatsBus.withConnection(nc, { subjectPrefix: schema, stream });
      const stop = new AbortController();
      cleanups.push(async () => { stop.abort(); await bus.close(); await nc.close().catch(() => {}); });
      const subscription = bus.subscribe(project, { signal: stop.signal });
      await subscription.ready;
      const events: ProgressEvent[] = [];
      void (async () => {
        for await (const { event } of subscription) if (event.workerId !== 'controller') events.push(event);
      })().catch(() => {});
      return events;
    },
  };
  return mesh;
}

/**
 * Images uploaded through the FileServer (PutFile with the admin token),
 * registered, and the first `labelled` given a label: class 0 for even
 * images, 1 for odd ones (the PNGs are coloured to match). A labels project
 * for the built-in classifier, or a points project for the fixture.
 */
async function createLabelsProject(mesh: Mesh, name: string, o: LabelsProjectOptions): Promise<LabelsProject> {
  const fixture = o.modelLibrary === 'test.fixture';
  const type = fixture ? AnnotationType.ANNOTATION_TYPE_POINTS : AnnotationType.ANNOTATION_TYPE_LABELS;
  await mesh.api.createProject({
    name, displayName: name, annotationType: type, predictionType: type,
    settings: {
      modelLibrary: o.modelLibrary ?? 'builtin.labels', modelOptionsJson: o.modelOptionsJson ?? tinyClassifierOptions(),
      rankerLibrary: 'builtin.max_confidence', rankerOptionsJson: '',
      autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 1, numEpochs: 1 },
      ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
    },
  });
  const labelClasses: string[] = [];
  for (const cls of ['red', 'blue']) labelClasses.push((await mesh.api.addLabelClass({ project: name, name: cls, color: '#000000' })).labelClass!.id);
  const files = mesh.files(name);
  const paths = Array.from({ length: o.images }, (_, i) => `img/${String(i).padStart(4, '0')}.png`);
  await inLanes(paths, 16, async (path, i) => { await files.putFile(path, await tinyPng(i, i % 2)); });
  const { added } = await mesh.api.registerImages({ project: name, prefix: 'img' });
  if (added !== o.images) throw new Error(`registered ${added} of ${o.images} images`);
  const images = await listImageIds(mesh.api, name);
  const labelled = paths.slice(0, o.labelled ?? o.images);
  for (let start = 0; start < labelled.length; start += 200) {
    await mesh.api.upsertAnnotations({
      project: name,
      annotations: labelled.slice(start, start + 200).map((path, k) => ({
        id: '', imageId: images.get(path)!, labelClassId: labelClasses[(start + k) % 2]!, unsure: false, author: '', createdAt: undefined,
        geometry: fixture ? { $case: 'point' as const, value: { x: 0.5, y: 0.5 } } : undefined,
      })),
    });
  }
  const unlabelled = paths.slice(labelled.length).map((path) => images.get(path)!);
  return { name, images, unlabelled, labelClasses };
}

/**
 * The project trained on `workers` shards, then a prediction for each of its
 * unlabelled images and none for the others: the mesh working end to end.
 */
export async function trainThenPredictAll(mesh: Mesh, project: LabelsProject, workers: number): Promise<void> {
  const trained = lastState(await mesh.finish(project.name, await startTraining(mesh.api, project.name, workers)));
  assert.equal(trained.state, JobState.JOB_STATE_SUCCEEDED, trained.message);
  assert.equal((await mesh.api.listModelStates({ project: project.name })).states.length, 1, 'one state');

  const inferred = lastState(await mesh.finish(project.name, await startInference(mesh.api, project.name, workers)));
  assert.equal(inferred.state, JobState.JOB_STATE_SUCCEEDED, inferred.message);
  const predicted = await predictionIds(mesh.api, project.name);
  assert.deepEqual([...predicted.keys()].sort(), [...project.unlabelled].sort(), 'a prediction for each unlabelled image, none for the others');
}

/*
 * Requests built with fromPartial: fields other helpers add to a request
 * later keep their defaults instead of breaking these tests.
 */

/** StartTraining on `numWorkers` shards for `numEpochs` rounds; the job's id. */
export async function startTraining(api: Controller, project: string, numWorkers: number, numEpochs = 1): Promise<string> {
  return (await api.startTraining(StartTrainingRequest.fromPartial({ project, numWorkers, numEpochs }))).job!.id;
}

/** StartInference of `imageIds` (none: every unlabelled image) with the current state; the job's id. */
export async function startInference(api: Controller, project: string, numWorkers: number, imageIds: string[] = []): Promise<string> {
  return (await api.startInference(StartInferenceRequest.fromPartial({ project, numWorkers, imageIds }))).job!.id;
}

/** StartWorkflow of `steps` (none: train → inference → rank); the workflow job. */
export async function startWorkflow(api: Controller, project: string, steps: Partial<WorkflowStep>[] = []): Promise<Job> {
  return (await api.startWorkflow(StartWorkflowRequest.fromPartial({ project, steps: steps.map((step) => WorkflowStep.fromPartial(step)) }))).job!;
}

/** Every image of the project: file path → id. */
export async function listImageIds(api: Controller, project: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let pageToken = '';
  do {
    const page = await api.listImages({ project, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 500, pageToken });
    for (const image of page.images) out.set(image.filePath, image.id);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

/** Predictions of a model state (empty = the current one): image id → its predictions' ids, sorted. */
export async function predictionIds(api: Controller, project: string, modelStateId = ''): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  let pageToken = '';
  do {
    const page = await api.listPredictions({ project, imageId: '', modelStateId, pageSize: 1000, pageToken });
    for (const p of page.predictions) out.set(p.imageId, [...(out.get(p.imageId) ?? []), p.id].sort());
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

/** The last event's state, with its message for the assertion's text. */
export function lastState(events: ProgressEvent[]): { state: JobState; message: string } {
  const last = events.at(-1);
  return { state: last?.state ?? JobState.JOB_STATE_UNSPECIFIED, message: last?.message ?? '(no events)' };
}

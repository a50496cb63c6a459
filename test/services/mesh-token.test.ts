/**
 * Services started one by one, each its own process, in plaintext on loopback
 * with a shared [Security] mesh_token (README "Running services one by one"):
 * the controller registers images through the FileServer, a worker trains by
 * reading an image through the FileServer, the Ranker ranks. Without the
 * token every service refuses a peer call with UNAUTHENTICATED.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { MeshToken } from '../../libs/auth/mesh-token.js';
import { isAideError } from '../../libs/errors.js';
import { AnnotationType, JobState } from '../../libs/gen/aide/v1/common.js';
import { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import { FileServiceService } from '../../libs/gen/aide/v1/fileserver.js';
import { RankerServiceService } from '../../libs/gen/aide/v1/ranker.js';
import { WorkerServiceService } from '../../libs/gen/aide/v1/worker.js';
import { createClient } from '../../libs/grpc/index.js';
import { freePort } from '../support/free-port.js';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.js';
import { waitUntil } from '../support/wait.js';

const TERMINAL = new Set([JobState.JOB_STATE_SUCCEEDED, JobState.JOB_STATE_FAILED, JobState.JOB_STATE_CANCELLED]);

test('plaintext services as separate processes with a mesh token: register images, train, infer and rank; no token, no peer', async (t) => {
  const secret = randomBytes(24).toString('base64url');
  const root = mkdtempSync(join(tmpdir(), 'aide-mesh-token-'));
  const project = 'herons';
  mkdirSync(join(root, project, 'img'), { recursive: true });
  for (let i = 0; i < 3; i++) writeFileSync(join(root, project, 'img', `${i}.jpg`), `image bytes ${i}`);

  const common = { AIDE_SECURITY_MESH_TOKEN: secret, AIDE_DATABASE_URL: '', DATABASE_URL: '', AIDE_MODELS_EXTRA: './test/security/file-reading-model.ts#FileReadingModel' };
  const services: ServiceProcess[] = [];
  t.after(() => { for (const s of services) s.kill(); });
  const start = async (name: string, env: Record<string, string>) => {
    const s = await startServiceProcess(name, { ...common, ...env });
    services.push(s);
    return s;
  };
  // The worker learns the FileServer's address before it listens, so the three start side by side.
  const filesAddress = `127.0.0.1:${await freePort()}`;
  const [files, ranker, worker] = await Promise.all([
    start('fileserver', { AIDE_FILESERVER_HOST: '127.0.0.1', AIDE_FILESERVER_PORT: filesAddress.split(':')[1]!, AIDE_FILESERVER_HTTP_PORT: '0', AIDE_FILESERVER_ROOT: root }),
    start('ranker', { AIDE_RANKER_HOST: '127.0.0.1', AIDE_RANKER_PORT: '0' }),
    start('worker', { AIDE_AIWORKER_HOST: '127.0.0.1', AIDE_AIWORKER_PORT: '0', AIDE_AIWORKER_BACKEND: 'cpu', AIDE_AIWORKER_FILESERVER: filesAddress }),
  ]);
  const controller = await start('controller', {
    AIDE_AICONTROLLER_HOST: '127.0.0.1', AIDE_AICONTROLLER_PORT: '0',
    AIDE_AICONTROLLER_WORKERS: worker.address, AIDE_AICONTROLLER_RANKER: ranker.address, AIDE_AICONTROLLER_FILESERVER: files.address,
  });

  await t.test('without the mesh token (or with a wrong one) every service answers a peer call UNAUTHENTICATED', async () => {
    const unauthenticated = (e: unknown) => isAideError(e, 'UNAUTHENTICATED');
    for (const metadata of [undefined, new MeshToken('not-the-token').metadata()]) {
      const opts = { metadata, maxAttempts: 1, defaultDeadlineMs: 5000 };
      const w = createClient(WorkerServiceService, worker.address, opts);
      const r = createClient(RankerServiceService, ranker.address, opts);
      const f = createClient(FileServiceService, files.address, opts);
      const c = createClient(ControllerServiceService, controller.address, opts);
      try {
        await assert.rejects(w.getCapabilities({}), unauthenticated, 'worker');
        await assert.rejects(r.listRankers({}), unauthenticated, 'ranker');
        await assert.rejects(f.statFile({ project, path: 'img/0.jpg' }), unauthenticated, 'fileserver');
        await assert.rejects(c.listProjects({ pageSize: 10, pageToken: '' }), unauthenticated, 'controller');
      } finally {
        for (const x of [w, r, f, c]) x.close();
      }
    }
  });

  await t.test('with it the services work together: RegisterImages, then train (reading through the FileServer), infer and rank', async () => {
    // The mesh token makes the test a mesh peer of the controller too (full rights, no API token needed).
    const metadata: grpc.Metadata = new MeshToken(secret).metadata();
    const c = createClient(ControllerServiceService, controller.address, { metadata, defaultDeadlineMs: 30_000 });
    t.after(() => c.close());
    await c.createProject({
      name: project, displayName: 'mesh token', annotationType: AnnotationType.ANNOTATION_TYPE_POINTS, predictionType: AnnotationType.ANNOTATION_TYPE_POINTS,
      settings: {
        modelLibrary: 'test.file-reader', modelOptionsJson: '', rankerLibrary: 'builtin.max_confidence', rankerOptionsJson: '',
        autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 1, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
      },
    });
    const { labelClass } = await c.addLabelClass({ project, name: 'heron', color: '#123456' });
    assert.equal((await c.registerImages({ project, prefix: 'img' })).added, 3, 'the controller listed the folder on the FileServer');
    const images = (await c.listImages({ project, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 10, pageToken: '' })).images;
    const first = images.find((i) => i.filePath === 'img/0.jpg')!;
    await c.upsertAnnotations({ project, annotations: [{
      id: '', imageId: first.id, labelClassId: labelClass!.id, unsure: false, author: '', createdAt: undefined,
      geometry: { $case: 'point', value: { x: 0.5, y: 0.5 } },
    }] });

    const { job } = await c.startWorkflow({ project, steps: [], fromScratch: false });
    const done = await waitUntil('the workflow ends', async () => {
      const j = (await c.getJob({ project, id: job!.id })).job!;
      return TERMINAL.has(j.state) && j;
    }, 60_000, 100);
    assert.equal(done.state, JobState.JOB_STATE_SUCCEEDED, done.message);

    // The model's state is the bytes it read through the FileServer: the worker was a peer there too.
    const [state] = (await c.listModelStates({ project })).states;
    const parts: Buffer[] = [];
    for await (const m of c.exportModelState({ project, id: state!.id })) if (m.payload?.$case === 'chunk') parts.push(m.payload.value.data);
    assert.deepEqual(Buffer.concat(parts), readFileSync(join(root, project, 'img', '0.jpg')));
    const predictions = (await c.listPredictions({ project, imageId: '', modelStateId: '', pageSize: 10, pageToken: '' })).predictions;
    assert.equal(predictions.length, 2, 'the two unannotated images were predicted');
    for (const p of predictions) assert.ok(p.priority > 0, 'and ranked by the Ranker');
  });
});

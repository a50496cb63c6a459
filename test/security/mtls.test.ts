import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { createBus } from '../../libs/bus/index.js';
import { Config } from '../../libs/config/config.js';
import { isAideError } from '../../libs/errors.js';
import { AnnotationType } from '../../libs/gen/aide/v1/common.js';
import { RankerServiceService, type RankResponse } from '../../libs/gen/aide/v1/ranker.js';
import { channelCredentials, createClient, serverCredentials, startServer, type TlsSettings } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import { loadRegistry } from '../../libs/plugin/registry.js';
import { train, workerClient } from '../../libs/worker-client/worker-client.js';
import { startFileServer } from '../../services/fileserver/main.js';
import { startRanker } from '../../services/ranker/main.js';
import { startWorker } from '../../services/worker/main.js';
import { checkHealth } from '../support/health.js';
import { FileReadingModel } from './file-reading-model.js';
import { createPki, type CertFiles } from './pki.js';

const logger = createLogger('test', 'silent');
const dir = mkdtempSync(join(tmpdir(), 'aide-pki-'));
const mesh = createPki(dir, 'mesh-ca');
const stranger = createPki(dir, 'other-ca');

/** A service's settings with mTLS from its own certificate. */
const mtls = (cert: CertFiles, extra: Record<string, string> = {}) => Config.load({
  text: '',
  env: { AIDE_SECURITY_TLS_CERT: cert.cert, AIDE_SECURITY_TLS_KEY: cert.key, AIDE_SECURITY_TLS_CA: mesh.ca, AIDE_NATS_URL: '', ...extra },
});
const clientTls = (cert?: CertFiles, ca = mesh.ca): TlsSettings => ({ plaintext: false, caFile: ca, certFile: cert?.cert, keyFile: cert?.key });

const header = (jobId: string) => ({
  jobId, project: 'proj', modelLibrary: 'test.file-reader', modelOptionsJson: '{}', annotationType: 2, predictionType: 2,
  ignoreUnlabeled: false, traceparent: '', labelClasses: [{ id: 'c1', project: 'proj', name: 'Elephant', color: '', index: 1 }],
});

test('mutual TLS across the mesh', async (t) => {
  const root = join(dir, 'files');
  mkdirSync(join(root, 'proj'), { recursive: true });
  writeFileSync(join(root, 'proj', 'photo.jpg'), 'bytes only the mesh may read');

  const fileServer = await startFileServer(mtls(mesh.issue('fileserver', { uri: 'spiffe://aide/fileserver' }), {
    AIDE_FILESERVER_ROOT: root, AIDE_FILESERVER_HOST: '127.0.0.1', AIDE_FILESERVER_PORT: '0', AIDE_FILESERVER_HTTP_PORT: '0',
  }), logger);
  t.after(() => fileServer.shutdown(1000));
  const bus = await createBus();
  const worker = await startWorker(mtls(mesh.issue('worker', { uri: 'spiffe://aide/worker' }), {
    AIDE_AIWORKER_HOST: '127.0.0.1', AIDE_AIWORKER_PORT: '0', AIDE_AIWORKER_BACKEND: 'cpu', AIDE_AIWORKER_FILESERVER: fileServer.addresses.grpc!,
  }), logger, { bus, registry: await loadRegistry({ builtins: [FileReadingModel], logger }) });
  t.after(async () => { await worker.shutdown(1000); await bus.close(); });
  const ranker = await startRanker(mtls(mesh.issue('ranker'), { AIDE_RANKER_HOST: '127.0.0.1', AIDE_RANKER_PORT: '0' }), logger);
  t.after(() => ranker.shutdown(1000));
  const controllerCert = mesh.issue('controller', { uri: 'spiffe://aide/controller' });
  const workerAs = (settings: TlsSettings) => {
    const c = workerClient(worker.addresses.grpc!, { credentials: channelCredentials(settings), maxAttempts: 1, defaultDeadlineMs: 5000 });
    t.after(() => c.close());
    return c;
  };

  await t.test('a client without a certificate is refused by the worker', async () => {
    await assert.rejects(workerAs(clientTls()).getCapabilities({}), (e: unknown) => isAideError(e, 'UNAVAILABLE'));
  });

  await t.test('a client with a certificate from another CA is refused by the worker', async () => {
    await assert.rejects(workerAs(clientTls(stranger.issue('intruder'))).getCapabilities({}), (e: unknown) => isAideError(e, 'UNAVAILABLE'));
  });

  await t.test('a plaintext client is refused', async () => {
    await assert.rejects(workerAs({ plaintext: true }).getCapabilities({}), (e: unknown) => isAideError(e, 'UNAVAILABLE'));
  });

  await t.test('a worker job reads a project file from the FileServer as a mesh peer', async () => {
    const client = workerAs(clientTls(controllerCert));
    assert.deepEqual((await client.getCapabilities({})).modelLibraries, ['test.file-reader']);
    const images = [{ id: 'i1', filename: 'photo.jpg', annotations: [] }];
    const out = await train(client, header('read-through-mtls'), images, null);
    assert.equal(Buffer.from(out.state).toString(), 'bytes only the mesh may read');
  });

  await t.test('a Rank call over mTLS', async () => {
    const client = createClient(RankerServiceService, ranker.address, { credentials: channelCredentials(clientTls(controllerCert)) });
    t.after(() => client.close());
    const ranked: RankResponse[] = [];
    const requests = [
      { payload: { $case: 'header' as const, value: { jobId: 'r1', project: 'proj', rankerLibrary: 'builtin.random', rankerOptionsJson: '', predictionType: AnnotationType.ANNOTATION_TYPE_LABELS, numImages: 1, traceparent: '' } } },
      { payload: { $case: 'image' as const, value: { imageId: 'i1', predictions: [], embedding: undefined, annotated: false } } },
    ];
    for await (const r of client.rank(requests)) ranked.push(r);
    assert.ok(ranked.some((r) => r.payload?.$case === 'image' && r.payload.value.imageId === 'i1'));
  });

  await t.test('health answers mesh clients without a token', async () => {
    assert.equal(await checkHealth(fileServer.addresses.grpc!, 'aide.v1.FileService', channelCredentials(clientTls(controllerCert))), 'SERVING');
  });
});

/** The certificate a fresh TLS connection is served. */
function servedOnce(port: number, client: CertFiles): Promise<string> {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, ALPNProtocols: ['h2'], servername: 'localhost', ca: readText(mesh.ca), cert: readText(client.cert), key: readText(client.key) };
    const socket = tls.connect(options, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

/** Retried: the server loads its certificate files asynchronously after binding, and drops handshakes until then. */
async function servedFingerprint(port: number, client: CertFiles): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await servedOnce(port, client);
    } catch (err) {
      if (attempt === 20) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
const readText = (file: string) => readFileSync(file, 'utf8');

test('certificates are re-read from disk without a restart', async (t) => {
  const live: CertFiles = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
  const install = (from: CertFiles) => { copyFileSync(from.key, live.key); copyFileSync(from.cert, live.cert); };
  const first = mesh.issue('rotating');
  install(first);
  const server = await startServer({
    name: 'rotating', host: '127.0.0.1', port: 0, services: [], logger,
    credentials: serverCredentials({ plaintext: false, certFile: live.cert, keyFile: live.key, caFile: mesh.ca, refreshMs: 200 }),
  });
  t.after(() => server.shutdown(500));
  const client = mesh.issue('client');
  const before = await servedFingerprint(server.port, client);

  const second = mesh.issue('rotating');
  install(second);
  await new Promise((r) => setTimeout(r, 700));
  const after = await servedFingerprint(server.port, client);
  assert.notEqual(after, before, 'a new connection sees the new certificate');
  assert.equal(after, new X509Certificate(readText(second.cert)).fingerprint256);
  assert.equal(await checkHealth(server.address, '', channelCredentials(clientTls(client))), 'SERVING');
});

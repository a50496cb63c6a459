/**
 * Child process of model-states.test.ts: a controller on the database at
 * argv[3] (a schema of its own), importing a PRNG state of argv[2] bytes over
 * gRPC and exporting it again, both streamed; prints one JSON line with the
 * hashes, the RSS once started and its peak during the transfers.
 *
 *   node --import tsx test/controller/state-transfer-child.ts <size> <postgres url>
 *
 * Client and server share this process: the client generates the payload
 * piece by piece and hashes what comes back without keeping it, so peak RSS
 * bounds what the server holds.
 */
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { toChunks, verifyChunks, payload, StreamParts } from '../../libs/blob/index.js';
import { MemoryBus } from '../../libs/bus/index.js';
import { Config } from '../../libs/config/config.js';
import { openDatabase } from '../../libs/db/index.js';
import { AnnotationType } from '../../libs/gen/aide/v1/common.js';
import { ControllerServiceService, type ImportModelStateRequest } from '../../libs/gen/aide/v1/controller.js';
import { createClient } from '../../libs/grpc/index.js';
import { loadRegistry } from '../../libs/plugin/registry.js';
import { startController } from '../../services/controller/main.js';
import { prngPieces } from '../blob/echo.js';
import { FixtureModel } from '../support/fixture-model.js';
import { logger, testAuth } from './harness.js';

const size = Number(process.argv[2]);
const schema = `t_transfer_${process.pid}`;
const database = await openDatabase({ url: process.argv[3]!, schema, logger });
let peak = 0;
const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
const controller = await startController(
  Config.load({ text: '', env: { AIDE_SECURITY_PLAINTEXT: 'true', AIDE_AICONTROLLER_HOST: '127.0.0.1', AIDE_AICONTROLLER_PORT: '0' } }),
  logger,
  { database, bus: new MemoryBus(), registry: await loadRegistry({ builtins: [FixtureModel], logger }), middleware: [testAuth] },
);
const md = new grpc.Metadata();
md.set('x-test-peer', '1');
const client = createClient(ControllerServiceService, controller.address, { metadata: md });
const baselineRssBytes = process.memoryUsage().rss;
try {
  await client.createProject({ name: 'big', displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_POINTS, predictionType: AnnotationType.ANNOTATION_TYPE_POINTS, settings: undefined });
  const sent = createHash('sha256');
  const t0 = performance.now();
  async function* requests(): AsyncGenerator<ImportModelStateRequest> {
    yield { payload: { $case: 'header', value: { project: 'big', modelLibrary: 'test.fixture', labelClassMap: {}, stats: { loss: 1 }, size, numImages: 3 } } };
    const pieces = (function* () { for (const p of prngPieces(size, 7)) { sent.update(p); yield p; } })();
    for await (const chunk of toChunks(pieces, { totalSize: size })) yield { payload: { $case: 'chunk', value: chunk } };
  }
  const { state } = await client.importModelState(requests());
  const importSeconds = (performance.now() - t0) / 1000;

  const received = createHash('sha256');
  let bytes = 0;
  const parts = new StreamParts(client.exportModelState({ project: 'big', id: state!.id }));
  const info = await parts.take(payload('info'), 'info');
  for await (const piece of verifyChunks(parts.chunks(payload('chunk')), { maxSize: size })) { received.update(piece); bytes += piece.byteLength; }
  const files = await controller.states.blobs.list();
  console.log(JSON.stringify({
    size, bytes, importSeconds, seconds: (performance.now() - t0) / 1000,
    sentSha256: sent.digest('hex'), receivedSha256: received.digest('hex'), storedSha256: Buffer.from(info.sha256).toString('hex'),
    version: info.version, files: files.map((f) => f.name), stateId: state!.id,
    baselineRssBytes, peakRssBytes: Math.max(peak, process.memoryUsage().rss),
  }));
} finally {
  clearInterval(sampler);
  client.close();
  await controller.shutdown(1000);
  await database.pool.query(`DROP SCHEMA ${schema} CASCADE`);
  await database.close();
}

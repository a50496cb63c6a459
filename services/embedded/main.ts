/**
 * `npm start`: the whole mesh in one process on embedded defaults (PGlite,
 * in-process bus), then the demo. `--no-demo` only serves; `--once` stops
 * after the demo (the CI smoke test).
 */
import * as grpc from '@grpc/grpc-js';
import { FileServerClient } from '../../libs/fileserver-client/index.js';
import { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import { createClient } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import { onShutdownSignals } from '../../libs/service/runtime.js';
import { runDemo } from './demo.js';
import { startEmbeddedMesh } from './mesh.js';

const args = new Set(process.argv.slice(2));
const logger = createLogger('aide', process.env.AIDE_LOG_LEVEL ?? 'warn');
const mesh = await startEmbeddedMesh({ env: process.env, logger });
onShutdownSignals(() => mesh.stop(), logger);

process.stdout.write([
  'AIDE mesh — embedded (PGlite, in-process bus, plaintext on loopback)',
  `  AIController  ${mesh.controller}`,
  ...mesh.workers.map((w, i) => `  AIWorker ${i + 1}    ${w}`),
  `  Ranker        ${mesh.ranker}`,
  `  FileServer    ${mesh.fileServer.grpc} (gRPC), http://${mesh.fileServer.http}/files/<project>/<path>`,
  `  admin token   ${mesh.adminToken}`,
  `  try: grpcurl -plaintext -H "authorization: Bearer ${mesh.adminToken}" ${mesh.controller} aide.v1.ControllerService/ListProjects`,
  '',
].join('\n'));

if (!args.has('--no-demo')) {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${mesh.adminToken}`);
  const controller = createClient(ControllerServiceService, mesh.controller, { metadata });
  const files = new FileServerClient({ address: mesh.fileServer.grpc, project: 'demo', metadata });
  try {
    const result = await runDemo({ controller, files, project: 'demo', images: 60, numWorkers: mesh.workers.length, fileServerHttp: mesh.fileServer.http });
    if (result.top.length === 0) process.exitCode = 1;
  } finally {
    controller.close();
    files.close();
  }
}
if (args.has('--once')) {
  await mesh.stop();
  process.exit(process.exitCode ?? 0);
}
process.stdout.write('\nServing; Ctrl-C stops.\n');

/**
 * `npm start`: the whole mesh in one process on embedded defaults (PGlite,
 * in-process bus), then the demo. It writes the connection profile the `aide`
 * CLI reads (libs/config/profile.ts), so `npx aide projects list` just works.
 */
import { parseArgs } from 'node:util';
import type { ConnectionProfile } from '../../libs/config/profile.js';
import type { EmbeddedMesh } from './mesh.js';

const USAGE = `Usage: npm start [-- options]

Runs the whole AIDE mesh in one process (embedded Postgres, in-process bus,
plaintext on loopback), then a demo project: generated aerial tiles, a CNN
trained on a third of them, and the images to label next.

Options:
  --no-demo   only serve (no demo project)
  --once      stop after the demo (a smoke test)
  -h, --help  print this and exit

Settings: AIDE_<SECTION>_<KEY> environment variables, e.g. AIDE_AICONTROLLER_PORT
(see \`npm run service -- controller --help\`). The connection profile for the
\`aide\` CLI is written to AIDE_PROFILE (default ~/.config/aide/profile.json).
`;

let args;
try {
  ({ values: args } = parseArgs({
    options: { 'no-demo': { type: 'boolean' }, once: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  }));
} catch (err) {
  process.stderr.write(`error: ${(err as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

// The services (TensorFlow.js, gRPC, PGlite) load only once the arguments are known: --help and a bad option answer at once.
const [grpc, { profilePath, removeProfile, writeProfile }, { FileServerClient }, { ControllerServiceService }, { createClient }, { createLogger },
  { exitOnSettingProblem, onShutdownSignals }, { runDemo }, { startEmbeddedMesh }] = await Promise.all([
  import('@grpc/grpc-js'), import('../../libs/config/profile.js'), import('../../libs/fileserver-client/index.js'),
  import('../../libs/gen/aide/v1/controller.js'), import('../../libs/grpc/index.js'), import('../../libs/log.js'),
  import('../../libs/service/runtime.js'), import('./demo.js'), import('./mesh.js'),
]);

const logger = createLogger('aide', process.env.AIDE_LOG_LEVEL ?? 'warn');
const mesh: EmbeddedMesh = await startEmbeddedMesh({ env: process.env, logger }).catch((err: unknown) => exitOnSettingProblem(err));
const profile: ConnectionProfile = { address: mesh.controller, fileserver: mesh.fileServer.grpc, token: mesh.adminToken, plaintext: true };
const profileFile = profilePath();
let profileWritten = true;
try {
  writeProfile(profileFile, profile);
} catch (err) {
  // The mesh runs all the same; the export line below says the same thing.
  profileWritten = false;
  process.stderr.write(`warning: cannot write the CLI's connection profile ${profileFile}: ${(err as Error).message}\n`);
}
const stop = async () => {
  removeProfile(profileFile, profile);
  await mesh.stop();
};
onShutdownSignals(stop, logger);

process.stdout.write([
  'AIDE mesh — embedded (PGlite, in-process bus, plaintext on loopback)',
  `  AIController  ${mesh.controller}`,
  ...mesh.workers.map((w, i) => `  AIWorker ${i + 1}    ${w}`),
  `  Ranker        ${mesh.ranker}`,
  `  FileServer    ${mesh.fileServer.grpc} (gRPC), http://${mesh.fileServer.http}/files/<project>/<path>`,
  `  admin token   ${mesh.adminToken}`,
  '',
  ...(profileWritten ? [`The aide CLI finds this mesh through ${profileFile} (removed when it stops), e.g.`, '  npx aide projects list'] : []),
  'Or, for a script or a shell without the profile, the same as environment variables:',
  `  export AIDE_ADDRESS=${mesh.controller} AIDE_FILESERVER=${mesh.fileServer.grpc} AIDE_TOKEN=${mesh.adminToken} AIDE_PLAINTEXT=1`,
  `grpcurl: grpcurl -plaintext -H "authorization: Bearer ${mesh.adminToken}" ${mesh.controller} aide.v1.ControllerService/ListProjects`,
  '',
].join('\n'));

if (!args['no-demo']) {
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
if (args.once) {
  await stop();
  process.exit(process.exitCode ?? 0);
}
process.stdout.write('\nServing; Ctrl-C stops.\n');

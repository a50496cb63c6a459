import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { registerClasses } from './commands/classes.js';
import { registerImages } from './commands/images.js';
import { registerJobs } from './commands/jobs.js';
import { registerModels } from './commands/models.js';
import { registerProjects } from './commands/projects.js';
import { registerReview } from './commands/review.js';
import { registerStart } from './commands/start.js';
import { registerStates } from './commands/states.js';

/** The package's version, as `aide --version` prints it. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The `aide` command line: global connection options and every command group. */
export function buildProgram(): Command {
  const program = new Command('aide')
    .description('Administer an AIDE mesh: projects, label classes, images, models, jobs and model states. ' +
      'Without --address and --token (or AIDE_ADDRESS / AIDE_TOKEN) it connects where `npm start` said, ' +
      'from the profile it wrote (AIDE_PROFILE, default ~/.config/aide/profile.json).')
    .version(packageVersion(), '-V, --version', 'print the version')
    .addOption(new Option('--address <host:port>', 'the AIController').env('AIDE_ADDRESS').default('127.0.0.1:50051'))
    .addOption(new Option('--fileserver <host:port>', 'the FileServer (gRPC), for image imports').env('AIDE_FILESERVER').default('127.0.0.1:50053'))
    .addOption(new Option('--token <secret>', 'API token, sent as "authorization: Bearer <token>"').env('AIDE_TOKEN'))
    .addOption(new Option('--plaintext', 'connect without TLS (the embedded mesh on loopback; env: AIDE_PLAINTEXT=1)').conflicts(['tlsCa', 'tlsCert', 'tlsKey']))
    .option('--tls-ca <file>', 'CA certificate to trust (default: the system roots)')
    .option('--tls-cert <file>', 'client certificate, for mutual TLS')
    .option('--tls-key <file>', 'client key, for mutual TLS')
    .option('--json', 'print responses as JSON (proto3 JSON mapping) instead of text')
    .showHelpAfterError('(add --help for usage)')
    // Subcommands inherit this: commander throws instead of exiting, so main() decides the exit code.
    .exitOverride();
  for (const register of [registerProjects, registerClasses, registerImages, registerModels, registerStart, registerJobs, registerStates, registerReview]) {
    register(program);
  }
  return program;
}

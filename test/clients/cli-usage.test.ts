import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { describeFailure } from '../../clients/cli/failure.js';
import { buildProgram } from '../../clients/cli/program.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { serverCredentials } from '../../libs/grpc/credentials.js';
import { startServer } from '../../libs/grpc/server.js';
import { createLogger } from '../../libs/log.js';
import { createPki } from '../security/pki.js';
import { waitUntil } from '../support/wait.js';
import { aide, aideInProcess } from './aide-cli.js';

/** Every command of the tree, the root included. */
const allCommands = (command: Command): Command[] => [command, ...command.commands.flatMap(allCommands)];

/**
 * The CLI in this process, as main.ts runs it (spawning costs a second of CPU
 * per call; the process-level behaviour is checked by the spawned cases below).
 */
async function parse(args: string[]): Promise<{ exitCode: number; out: string; err: string }> {
  const program = buildProgram();
  let out = '';
  let err = '';
  for (const c of allCommands(program)) c.configureOutput({ writeOut: (s) => { out += s; }, writeErr: (s) => { err += s; } });
  try {
    await program.parseAsync(args, { from: 'user' });
    return { exitCode: 0, out, err };
  } catch (error) {
    const { lines, exitCode } = describeFailure(error);
    return { exitCode, out, err: err + lines.join('\n') };
  }
}

const pathOf = (c: Command): string[] => (c.parent ? [...pathOf(c.parent), c.name()] : []);

test('--help works for every command: exit 0 and a usage line naming the command', async () => {
  const paths = allCommands(buildProgram()).map(pathOf);
  assert.ok(paths.length > 25, `only ${paths.length} commands found`);
  for (const path of paths) {
    const r = await parse([...path, '--help']);
    assert.equal(r.exitCode, 0, `aide ${path.join(' ')} --help: ${r.err}`);
    assert.match(r.out, new RegExp(`^Usage: aide ${path.join(' ')}`.trimEnd()), path.join(' '));
  }
});

test('help texts say what happens: workflow\'s default steps are named, not printed as []', async () => {
  const r = await parse(['workflow', '--help']);
  assert.match(r.out, /--steps <kinds>\s+comma-separated steps \(.*default: train,inference,rank\)/s);
  assert.doesNotMatch(r.out, /default: \[\]/);
});

test('bad arguments fail with exit code 2 and say what is wrong', async () => {
  const cases: [string[], RegExp][] = [
    [['projects', 'get'], /missing required argument 'name'/],
    [['projects', 'create', 'p', '--annotation-type', 'circles'], /one of: labels, points, bounding-boxes, segmentation-masks/],
    [['projects', 'create', 'p', '--model-options', '{nope'], /not JSON/],
    [['jobs', 'list', 'p', '--state', 'sleeping'], /one of: queued, running, succeeded, failed, cancelled/],
    [['workflow', 'p', '--steps', 'train,dance'], /one of: train, inference, rank, average, workflow/],
    [['--plaintext', '--tls-ca', 'ca.pem', 'projects', 'list'], /cannot be used with option '--tls-ca/],
    [['--tls-ca', '/nonexistent/ca.pem', 'projects', 'list'], /--tls-ca: cannot read \/nonexistent\/ca\.pem/],
    [['--tls-cert', 'c.pem', 'projects', 'list'], /--tls-cert and --tls-key go together/],
    [['--plaintext', 'images', 'import', 'p', '/nonexistent/folder'], /cannot read folder \/nonexistent\/folder/],
  ];
  for (const [args, message] of cases) {
    const r = await parse(args);
    assert.equal(r.exitCode, 2, `aide ${args.join(' ')}: exit ${r.exitCode}\n${r.err}`);
    assert.match(r.err, message, `aide ${args.join(' ')}`);
  }
});

test('as a process: help exits 0, bad arguments 2, an unreachable controller 1 naming its address', async () => {
  const [help, unknown, badNumber, unreachable] = await Promise.all([
    aide(['jobs', 'watch', '--help']),
    aide(['bogus']),
    aide(['train', 'p', '--workers', 'many']),
    aide(['--plaintext', '--address', '127.0.0.1:1', 'projects', 'list']),
  ]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: aide jobs watch \[options\] <project> <id>/);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command 'bogus'/);
  assert.equal(badNumber.code, 2);
  assert.match(badNumber.stderr, /'--workers <n>' argument 'many' is invalid\. must be a whole number/);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /^error: cannot reach the controller at 127\.0\.0\.1:1/);
});

test('--plaintext against a TLS server: the error says the server speaks TLS', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aide-cli-tls-'));
  const pki = createPki(dir, 'ca');
  const leaf = pki.issue('controller');
  const server = await startServer({
    name: 'tls', host: '127.0.0.1', port: 0, services: [], logger: createLogger('test', 'silent'),
    credentials: serverCredentials({ plaintext: false, certFile: leaf.cert, keyFile: leaf.key }),
  });
  t.after(() => server.shutdown(0));
  // The server reads its certificate in the background after it binds: wait until it completes handshakes.
  await waitUntil('the TLS server to complete a handshake', () => new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: server.port, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    socket.once('secureConnect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  }));
  const r = await aideInProcess(['--plaintext', '--address', server.address, 'projects', 'list'], { AIDE_PROFILE: join(dir, 'none.json') });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^error: cannot reach the controller at 127\.0\.0\.1:\d+/m);
  assert.match(r.stderr, /^hint: the server speaks TLS: drop --plaintext/m);
});

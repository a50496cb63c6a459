import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { aide, aideInProcess } from '../clients/aide-cli.js';

/**
 * A newcomer's first hour (issue #26): `npm start`, then the CLI with nothing
 * but what `npm start` printed or wrote.
 */

const freePorts = {
  AIDE_AICONTROLLER_HOST: '127.0.0.1', AIDE_AICONTROLLER_PORT: '0',
  AIDE_RANKER_HOST: '127.0.0.1', AIDE_RANKER_PORT: '0',
  AIDE_FILESERVER_HOST: '127.0.0.1', AIDE_FILESERVER_PORT: '0', AIDE_FILESERVER_HTTP_PORT: '0',
  AIDE_AIWORKER_HOST: '127.0.0.1',
  AIDE_DATABASE_URL: '', DATABASE_URL: '', AIDE_NATS_URL: '',
};

/** `npm start -- <args>` with this process's environment less its AIDE_* settings, plus `env`. */
function npmStart(args: string[], env: NodeJS.ProcessEnv) {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AIDE_')));
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/embedded/main.ts', ...args], {
    env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, exited, stderr: () => stderr };
}

const scratch = () => mkdtempSync(join(tmpdir(), 'aide-first-hour-'));

test('npm start writes a 0600 profile and prints an export line; the CLI reaches the mesh with either, and says plaintext vs TLS', async (t) => {
  const dir = scratch();
  const profile = join(dir, 'profile.json');
  const start = npmStart(['--no-demo'], { ...freePorts, AIDE_FILESERVER_ROOT: join(dir, 'files'), AIDE_PROFILE: profile });
  t.after(() => start.child.kill('SIGKILL'));

  let exportLine: string | undefined;
  for await (const line of createInterface({ input: start.child.stdout! })) {
    if (/^\s*export AIDE_ADDRESS=/.test(line)) { exportLine = line; break; }
  }
  assert.ok(exportLine, `npm start printed no export line\n${start.stderr()}`);
  start.child.stdout!.resume();
  const printed = Object.fromEntries(exportLine.trim().replace(/^export /, '').split(/\s+/).map((kv) => kv.split('=') as [string, string]));
  assert.deepEqual(Object.keys(printed).sort(), ['AIDE_ADDRESS', 'AIDE_FILESERVER', 'AIDE_PLAINTEXT', 'AIDE_TOKEN']);
  assert.equal(statSync(profile).mode & 0o777, 0o600, 'the profile holds a token: owner-only');

  const nowhere = join(dir, 'no-profile.json');
  const fromProfile = await aide(['projects', 'create', 'first', '--annotation-type', 'labels'], { AIDE_PROFILE: profile });
  const [fromExport, tlsOnPlaintext, noToken] = await Promise.all([
    aide(['projects', 'list'], { ...printed, AIDE_PROFILE: nowhere }),
    aide(['--address', printed.AIDE_ADDRESS!, 'projects', 'list'], { AIDE_PROFILE: nowhere }),
    aide(['--address', printed.AIDE_ADDRESS!, '--plaintext', 'projects', 'list'], { AIDE_PROFILE: profile }),
  ]);
  assert.equal(fromProfile.code, 0, fromProfile.stderr);
  assert.equal(fromExport.code, 0, fromExport.stderr);
  assert.match(fromExport.stdout, /\bfirst\b/, 'the export line reaches the same mesh the profile named');
  assert.equal(tlsOnPlaintext.code, 1);
  assert.match(tlsOnPlaintext.stderr, /^error: cannot reach the controller at /m);
  assert.match(tlsOnPlaintext.stderr, /^hint: the server speaks plaintext: use --plaintext/m);
  assert.doesNotMatch(tlsOnPlaintext.stderr, /Resolution note/);
  assert.doesNotMatch(tlsOnPlaintext.stderr, /DEP0123|DeprecationWarning/, 'TLS to an IP address: no warning about its SNI');
  // An address given on the command line is not silently paired with the profile's token.
  assert.equal(noToken.code, 1);
  assert.match(noToken.stderr, /UNAUTHENTICATED/);

  start.child.kill('SIGTERM');
  assert.equal(await start.exited, 0);
  assert.equal(existsSync(profile), false, 'the profile goes when the mesh stops');
});

test('npm start -- --help prints usage and exits 0 without starting anything; an unknown option exits 2', async () => {
  const dir = scratch();
  const profile = join(dir, 'profile.json');
  const help = npmStart(['--help'], { ...freePorts, AIDE_FILESERVER_ROOT: join(dir, 'files'), AIDE_PROFILE: profile });
  let stdout = '';
  help.child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  const bogus = npmStart(['--bogus'], { AIDE_PROFILE: profile });
  assert.equal(await help.exited, 0, help.stderr());
  assert.match(stdout, /^Usage: npm start/);
  assert.match(stdout, /--no-demo/);
  assert.doesNotMatch(stdout, /AIController\s+127/, 'no service started');
  assert.equal(existsSync(profile), false, 'no profile written');
  assert.equal(existsSync(join(dir, 'files')), false, 'no FileServer root created');
  assert.equal(await bogus.exited, 2);
  assert.match(bogus.stderr(), /Unknown option '--bogus'/);
});

// The FileServer binds first, so its port fails fastest; every service's port goes through the same bindPort.
test('a busy port names its setting and environment variable: exit 78, no stack', async (t) => {
  const holder = createServer();
  holder.listen(0, '127.0.0.1');
  await once(holder, 'listening');
  t.after(() => holder.close());
  const port = (holder.address() as { port: number }).port;
  const dir = scratch();
  const start = npmStart(['--no-demo'], {
    ...freePorts, AIDE_FILESERVER_PORT: String(port), AIDE_FILESERVER_ROOT: join(dir, 'files'), AIDE_PROFILE: join(dir, 'profile.json'),
  });
  start.child.stdout!.resume();
  assert.equal(await start.exited, 78, start.stderr());
  assert.match(start.stderr(), new RegExp(`^error: port ${port} is in use \\(127\\.0\\.0\\.1:${port}\\): set \\[FileServer\\] port or AIDE_FILESERVER_PORT$`, 'm'));
  assert.doesNotMatch(start.stderr(), /^\s+at /m, 'no stack trace');
});

test('aide --version prints the package version', async () => {
  const { version } = (await import('../../package.json', { with: { type: 'json' } })).default;
  const r = await aideInProcess(['--version']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), version);
});

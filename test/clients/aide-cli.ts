import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Command } from 'commander';
import { describeFailure } from '../../clients/cli/failure.js';
import { buildProgram } from '../../clients/cli/program.js';
import type { EmbeddedMesh } from '../../services/embedded/mesh.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** No connection profile unless a test names one: a developer's own `npm start` must not steer the tests' CLI. */
const NO_PROFILE = { AIDE_PROFILE: '/nonexistent/aide-test-profile.json' };

/** This process's environment without its AIDE_* settings (none may leak into a CLI run), plus `env`. */
const cliEnvironment = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AIDE_'))),
  ...NO_PROFILE,
  ...env,
});

/** Runs the `aide` CLI as a child process, as a user would (none of this process's AIDE_* settings leak in). */
export async function aide(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'clients/cli/main.ts', ...args], {
    env: cliEnvironment(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const [code] = await once(child, 'exit') as [number | null];
  return { code, stdout, stderr };
}

/*
 * The CLI in this process. Spawning costs over a second of CPU per call (tsx
 * startup); the process-level behaviour (exit codes, real stdio, the
 * environment) is checked by the few spawned runs each file keeps.
 *
 * Output: the CLI writes to process.stdout / process.stderr (its Session, the
 * progress bar, commander). Writes made from inside a run (its async context,
 * timers and callbacks included) go to that run's buffers; every other write
 * (the test runner's) goes through. Inside a run both streams look like what
 * a spawned CLI gets, pipes (isTTY false).
 *
 * Exit code: main.ts exits with process.exitCode (set by watch-job / models
 * verify) or describeFailure's code. process.exitCode is one per process and
 * cannot be redefined, so runs take turns: each starts with it unset, reads
 * it at its end and restores the previous value.
 */
interface Capture {
  stdout: string;
  stderr: string;
}

const capture = new AsyncLocalStorage<Capture>();
let captureInstalled = false;

function installCapture(): void {
  if (captureInstalled) return;
  captureInstalled = true;
  for (const key of ['stdout', 'stderr'] as const) {
    const stream = process[key];
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((err?: Error | null) => void), cb?: (err?: Error | null) => void): boolean => {
      const run = capture.getStore();
      if (!run) return write(chunk, encoding, cb);
      run[key] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      const done = typeof encoding === 'function' ? encoding : cb;
      if (done) process.nextTick(done);
      return true;
    }) as typeof stream.write;
    const tty = Object.getOwnPropertyDescriptor(stream, 'isTTY');
    const realIsTTY = (): boolean | undefined => (tty?.get ? tty.get.call(stream) as boolean : tty?.value as boolean | undefined);
    Object.defineProperty(stream, 'isTTY', {
      configurable: true, enumerable: true,
      get: () => (capture.getStore() ? false : realIsTTY()),
    });
  }
}

/** Every command of the tree, the root included. */
const allCommands = (command: Command): Command[] => [command, ...command.commands.flatMap(allCommands)];

let turn: Promise<unknown> = Promise.resolve();

/**
 * Runs `aide <args>` in this process as main.ts does (the program of
 * program.ts, failures through describeFailure), with `env` as its only AIDE_*
 * environment. Same result shape as `aide`.
 */
export function aideInProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  installCapture();
  const run = turn.then(() => capture.run({ stdout: '', stderr: '' }, async (): Promise<CliResult> => {
    const out = capture.getStore()!;
    const program = buildProgram();
    // Commander's own output (help, usage errors) as its defaults write it: to the (captured) process streams.
    for (const c of allCommands(program)) c.configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
    const savedExitCode = process.exitCode;
    process.exitCode = undefined;
    let code: number;
    try {
      // Commander reads the environment (AIDE_ADDRESS, …) synchronously, before parseAsync's first await:
      // the CLI's environment is in place for exactly that long.
      const savedEnv = { ...process.env };
      let parsed: Promise<unknown>;
      try {
        for (const key of Object.keys(process.env)) if (key.startsWith('AIDE_')) delete process.env[key];
        Object.assign(process.env, NO_PROFILE, env);
        parsed = program.parseAsync(args, { from: 'user' });
      } finally {
        for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
        Object.assign(process.env, savedEnv);
      }
      await parsed;
      code = Number(process.exitCode ?? 0);
    } catch (err) {
      const { lines, exitCode } = describeFailure(err);
      for (const line of lines) process.stderr.write(`${line}\n`);
      code = exitCode;
    } finally {
      process.exitCode = savedExitCode;
    }
    return { code, stdout: out.stdout, stderr: out.stderr };
  }));
  turn = run.catch(() => undefined);
  return run;
}

/** The environment variables the CLI documents, pointing it at a mesh with its admin token. */
const meshEnvironment = (mesh: EmbeddedMesh): NodeJS.ProcessEnv => ({
  AIDE_ADDRESS: mesh.controller, AIDE_FILESERVER: mesh.fileServer.grpc, AIDE_TOKEN: mesh.adminToken,
});

/** The CLI as a child process, pointed at a mesh with its admin token through the environment variables it documents. */
export const aideOn = (mesh: EmbeddedMesh) => (args: string[]): Promise<CliResult> => aide(['--plaintext', ...args], meshEnvironment(mesh));

/** The same, in this process (see aideInProcess). */
export const aideInProcessOn = (mesh: EmbeddedMesh) => (args: string[]): Promise<CliResult> => aideInProcess(['--plaintext', ...args], meshEnvironment(mesh));

/** Runs the CLI and requires exit code 0; returns stdout. */
export async function ok(run: Promise<CliResult>): Promise<string> {
  const r = await run;
  if (r.code !== 0) throw new Error(`aide exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r.stdout;
}

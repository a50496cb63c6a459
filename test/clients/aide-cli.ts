import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { EmbeddedMesh } from '../../services/embedded/mesh.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the `aide` CLI as a child process, as a user would (none of this process's AIDE_* settings leak in). */
export async function aide(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AIDE_')));
  const child = spawn(process.execPath, ['--import', 'tsx', 'clients/cli/main.ts', ...args], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const [code] = await once(child, 'exit') as [number | null];
  return { code, stdout, stderr };
}

/** The CLI pointed at a mesh with its admin token, through the environment variables it documents. */
export const aideOn = (mesh: EmbeddedMesh) => (args: string[]): Promise<CliResult> => aide(['--plaintext', ...args], {
  AIDE_ADDRESS: mesh.controller, AIDE_FILESERVER: mesh.fileServer.grpc, AIDE_TOKEN: mesh.adminToken,
});

/** Runs the CLI and requires exit code 0; returns stdout. */
export async function ok(run: Promise<CliResult>): Promise<string> {
  const r = await run;
  if (r.code !== 0) throw new Error(`aide exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  return r.stdout;
}

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export interface ServiceProcess {
  child: ChildProcess;
  /** gRPC address from the service's "listening" log line. */
  address: string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
  /** The JSON log entries it wrote after it started listening, in order: what it did, for tests to check. */
  logs: Record<string, unknown>[];
}

/**
 * Where each service process writes a V8 CPU profile for benchmarks (`node --cpu-prof`, into
 * `$AIDE_CPU_PROF_DIR/<service>/`); unset: none. A profile is written at a clean exit only, so the
 * mesh stops its processes with SIGTERM instead of SIGKILL while it is set (test/faults/mesh-processes.ts).
 */
export const CPU_PROFILE_DIR = process.env.AIDE_CPU_PROF_DIR;

/**
 * Starts `services/run.ts <name>` as its own process (as `npm run service` does) and waits until it listens;
 * `cpus`: pinned to those cores (`taskset -c`, e.g. "0" or "0,1").
 */
export async function startServiceProcess(name: string, env: Record<string, string>, opts: { cpus?: string } = {}): Promise<ServiceProcess> {
  const profile = CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROFILE_DIR}/${name}`] : [];
  const command = [process.execPath, ...profile, '--import', 'tsx', 'services/run.ts', name];
  if (opts.cpus !== undefined) command.unshift('taskset', '-c', opts.cpus);
  const child = spawn(command[0]!, command.slice(1), {
    env: { ...process.env, AIDE_SECURITY_PLAINTEXT: 'true', AIDE_NATS_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    let entry: { msg?: string; address?: string };
    try { entry = JSON.parse(line); } catch { continue; }
    if (entry.msg === `${name} listening`) {
      const logs: Record<string, unknown>[] = [];
      // Keeps draining the pipe, and keeps what it says.
      lines.on('line', (text) => { try { logs.push(JSON.parse(text) as Record<string, unknown>); } catch { /* not a log entry */ } });
      return { child, address: entry.address!, exited, kill: (s = 'SIGKILL') => { child.kill(s); }, logs };
    }
  }
  throw new Error(`${name} exited before listening`);
}

/**
 * A NATS JetStream server of one test's own (never the shared one on 4222), so
 * the test may kill it and start it again on the same port and store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { connect } from 'nats';
import { freePort } from './free-port.js';
import { waitUntil } from './wait.js';

const NATS_SERVER = '/usr/sbin/nats-server';

export interface OwnNats {
  url: string;
  /** Kills the server at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port and store; resolves once it answers. */
  start(): Promise<void>;
}

export async function ownNats(t: TestContext): Promise<OwnNats> {
  const port = await freePort();
  const store = mkdtempSync(join(tmpdir(), 'aide-nats-'));
  const url = `nats://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const kill = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGKILL');
    await exited;
  };
  const start = async (): Promise<void> => {
    child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store], { stdio: 'ignore' });
    await waitUntil(`nats-server on ${url}`, async () => {
      const nc = await connect({ servers: url, timeout: 200, reconnect: false }).catch(() => undefined);
      if (!nc) return false;
      await nc.close();
      return true;
    }, 10_000, 50);
  };
  t.after(async () => {
    await kill();
    rmSync(store, { recursive: true, force: true });
  });
  await start();
  return { url, kill, start };
}

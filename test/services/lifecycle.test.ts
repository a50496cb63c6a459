import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.js';
import { checkHealth, healthClient } from '../support/health.js';
import { listServices } from '../support/reflection.js';

/** Each deployable as its own process, the way `npm run service -- <name>` starts it. */
const SERVICES: Record<string, { section: string; service: string; also?: string[] }> = {
  controller: { section: 'AICONTROLLER', service: 'aide.v1.ControllerService', also: ['aide.v1.AdminService'] },
  worker: { section: 'AIWORKER', service: 'aide.v1.WorkerService' },
  fileserver: { section: 'FILESERVER', service: 'aide.v1.FileService' },
  ranker: { section: 'RANKER', service: 'aide.v1.RankerService' },
};

function startService(name: string, drainSeconds: number): Promise<ServiceProcess> {
  const { section } = SERVICES[name]!;
  return startServiceProcess(name, {
    [`AIDE_${section}_HOST`]: '127.0.0.1',
    [`AIDE_${section}_PORT`]: '0',
    [`AIDE_${section}_DRAIN_DEADLINE_S`]: String(drainSeconds),
    AIDE_FILESERVER_HTTP_PORT: '0',
    AIDE_FILESERVER_ROOT: mkdtempSync(join(tmpdir(), 'aide-files-')),
    AIDE_AIWORKER_BACKEND: 'cpu',
    // The controller on its embedded database, with no workers: it serves, and its jobs would wait.
    AIDE_DATABASE_URL: '', DATABASE_URL: '',
  });
}

for (const name of Object.keys(SERVICES)) {
  test(`${name}: health SERVING, reflection lists its service, SIGTERM drains within the deadline and exits 0`, async () => {
    const drainSeconds = 2;
    const svc = await startService(name, drainSeconds);
    try {
      const expected = SERVICES[name]!.service;
      assert.equal(await checkHealth(svc.address), 'SERVING');
      assert.equal(await checkHealth(svc.address, expected), 'SERVING');
      assert.deepEqual(await listServices(svc.address), [...(SERVICES[name]!.also ?? []), expected, 'grpc.health.v1.Health'].sort());

      // A call still in flight (a health Watch stream never ends by itself) must not keep the process past the deadline.
      const watcher = healthClient(svc.address);
      const watch = watcher.watch({ service: expected });
      const statuses: string[] = [];
      watch.on('data', (m: { status: string }) => statuses.push(m.status));
      watch.on('error', () => {});
      await new Promise((r) => setTimeout(r, 200));
      const started = performance.now();
      svc.child.kill('SIGTERM');
      const code = await svc.exited;
      const elapsed = performance.now() - started;
      watcher.close();
      assert.equal(code, 0);
      // Without the deadline the Watch would hold the process forever; the slack is for a loaded machine's exit.
      assert.ok(elapsed < drainSeconds * 1000 + 10_000, `exited after ${Math.round(elapsed)} ms`);
      assert.deepEqual(statuses.slice(0, 2), ['SERVING', 'NOT_SERVING'], 'watchers saw NOT_SERVING while draining');
    } finally {
      svc.child.kill('SIGKILL');
    }
  });
}

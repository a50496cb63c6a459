import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBus } from '../../libs/bus/index.js';
import { Config } from '../../libs/config/config.js';
import { createLogger } from '../../libs/log.js';
import { loadRegistry } from '../../libs/plugin/registry.js';
import { train, workerClient } from '../../libs/worker-client/worker-client.js';
import { FRESH_MS, WorkerPool } from '../../services/controller/orchestration/worker-pool.js';
import { startWorker } from '../../services/worker/main.js';
import { FixtureModel, fixtureImages, fixtureJobHeader } from '../support/fixture-model.js';
import { waitUntil } from '../support/wait.js';

const logger = createLogger('test', 'silent');

test('dispatch goes to the worker with a free slot as the workers report it now, not as the last refresh saw them', async (t) => {
  const registry = await loadRegistry({ builtins: [FixtureModel], logger });
  const bus = new MemoryBus();
  const config = Config.load({ text: '', env: {
    AIDE_AIWORKER_PORT: '0', AIDE_AIWORKER_HOST: '127.0.0.1', AIDE_SECURITY_PLAINTEXT: 'true', AIDE_AIWORKER_MAX_CONCURRENT_JOBS: '1', AIDE_AIWORKER_BACKEND: 'cpu',
  } });
  const workers = await Promise.all([1, 2].map(() => startWorker(config, logger, { registry, bus })));
  const [a, b] = workers.map((w) => w.addresses.grpc!) as [string, string];
  // The pool's periodic refresh is far away: only what it asks at dispatch time can tell it what changed.
  const pool = new WorkerPool({ staticAddresses: [a, b], refreshMs: 60_000, logger });
  await pool.start();
  const outside = workerClient(a);
  t.after(async () => { outside.close(); pool.stop(); await Promise.all(workers.map((w) => w.shutdown(1000))); await bus.close(); });

  // Worker a's only slot taken by a job someone else (another controller) sent it after the pool's refresh.
  const elsewhere = train(outside, fixtureJobHeader('elsewhere', { steps: 40, stepMs: 25 }), fixtureImages(1, () => 0.5), null);
  await waitUntil('worker a runs the other job', async () => (await outside.getCapabilities({})).runningJobs === 1);
  // The pool trusts an answer younger than FRESH_MS: past it, its start-up view is the stale one under test.
  await new Promise((r) => setTimeout(r, 2 * FRESH_MS));
  const lease = await pool.acquire();
  assert.equal(lease.address, b, 'the free worker, not the one the stale view would take (first of two equally idle)');
  lease.release();
  await elsewhere;

  // Both free again: two shards dispatched at once go one to each.
  const [first, second] = await Promise.all([pool.acquire(), pool.acquire()]);
  assert.deepEqual(new Set([first.address, second.address]), new Set([a, b]));
  first.release();
  second.release();
});

/**
 * Draining (README "Running services one by one"): on SIGTERM a worker
 * refuses new calls and lets running ones finish within drain_deadline_s;
 * the controller's pool stops sending it work at once and takes a worker
 * that comes back at the same address within seconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Config } from '../../libs/config/config.js';
import { isAideError } from '../../libs/errors.js';
import { createLogger } from '../../libs/log.js';
import { loadRegistry } from '../../libs/plugin/registry.js';
import { train, workerClient } from '../../libs/worker-client/worker-client.js';
import { WorkerPool } from '../../services/controller/orchestration/worker-pool.js';
import { startWorker } from '../../services/worker/main.js';
import { decodeWeights, fixtureImages, fixtureJobHeader, FixtureModel } from '../support/fixture-model.js';
import { startServiceProcess } from '../support/service-process.js';
import { waitUntil } from '../support/wait.js';

const logger = createLogger('test', 'silent');
const images = (n: number) => fixtureImages(n, () => 0.25);
const unavailable = (e: unknown) => isAideError(e, 'UNAVAILABLE');

test('SIGTERM (twice, as a process group and a relaying parent send it) mid-Train: new calls UNAVAILABLE, the running call delivers its result, exit 0', async (t) => {
  const worker = await startServiceProcess('worker', {
    AIDE_AIWORKER_HOST: '127.0.0.1', AIDE_AIWORKER_PORT: '0', AIDE_AIWORKER_BACKEND: 'cpu', AIDE_AIWORKER_DRAIN_DEADLINE_S: '60',
    AIDE_MODELS_EXTRA: './test/support/fixture-model.ts#FixtureModel',
  });
  const c = workerClient(worker.address, { maxAttempts: 1 });
  t.after(() => { c.close(); worker.kill(); });

  let started!: () => void;
  const running = new Promise<void>((resolve) => { started = resolve; });
  let finished = false;
  const call = train(c, fixtureJobHeader('drained', { steps: 40, stepMs: 100 }), images(3), null, { onProgress: (e) => { if (e.done > 0) started(); } });
  void call.then(() => { finished = true; }, () => {});
  await running;
  worker.kill('SIGTERM');
  worker.kill('SIGTERM');

  // New calls, on a new channel and on the one carrying the running call, are refused while it runs.
  await waitUntil('the worker refuses new calls', async () => (await c.getCapabilities({}, { deadline: 2000 }).then(() => false, unavailable)) || undefined);
  const fresh = workerClient(worker.address, { maxAttempts: 1 });
  await assert.rejects(fresh.getCapabilities({}, { deadline: 2000 }), unavailable);
  fresh.close();
  assert.equal(finished, false, 'refused while the training was still running');

  const out = await call;
  assert.deepEqual(decodeWeights(out.state), [3, 3, 0.75, 1.5], 'the whole training result arrived');
  assert.equal(await worker.exited, 0);
});

test('the pool stops picking a draining worker at once, and takes one back at the same address within seconds', async (t) => {
  const registry = await loadRegistry({ builtins: [FixtureModel], logger });
  const configFor = (port = 0) => Config.load({ text: '', env: {
    AIDE_AIWORKER_HOST: '127.0.0.1', AIDE_AIWORKER_PORT: String(port), AIDE_SECURITY_PLAINTEXT: 'true', AIDE_AIWORKER_BACKEND: 'cpu',
  } });
  const start = (port?: number) => startWorker(configFor(port), logger, { registry, fileSource: () => ({ getFile: async () => null }) });
  let [a, b] = await Promise.all([start(), start()]);
  const aAddress = a.addresses.grpc!;
  // Re-resolving (refreshMs) never comes within the test: only the health watch and the retries can move the pool.
  const pool = new WorkerPool({ staticAddresses: [aAddress, b.addresses.grpc!], refreshMs: 600_000, retryMs: 200, logger });
  t.after(async () => { pool.stop(); await Promise.all([a.shutdown(0), b.shutdown(0)]); });
  await pool.start();
  const healthy = () => pool.snapshot().filter((m) => m.healthy).map((m) => m.address).sort();
  assert.deepEqual(healthy(), [aAddress, b.addresses.grpc!].sort());

  // A runs a call and starts draining: the pool hears NOT_SERVING and sends nothing more there.
  const onA = workerClient(aAddress, { maxAttempts: 1 });
  t.after(() => onA.close());
  let started!: () => void;
  const running = new Promise<void>((resolve) => { started = resolve; });
  const call = train(onA, fixtureJobHeader('on-a', { steps: 20, stepMs: 100 }), images(1), null, { onProgress: (e) => { if (e.done > 0) started(); } });
  await running;
  const drained = a.shutdown(60_000);
  await waitUntil('the pool takes the draining worker out', async () => !healthy().includes(aAddress));
  for (let i = 0; i < 5; i++) {
    const lease = await pool.acquire({ library: 'test.fixture' });
    assert.equal(lease.address, b.addresses.grpc, 'only the worker that is not draining is picked');
    lease.release();
  }
  assert.equal((await call).result.numImages, 1, 'the draining worker finished its call');
  await drained;

  // Back at the same address: used again well before any refresh.
  a = await start(Number(aAddress.split(':')[1]));
  await waitUntil('the pool takes the restarted worker back', async () => healthy().includes(aAddress), 10_000);
  const seen = new Set<string>();
  const leases = [await pool.acquire({ library: 'test.fixture' }), await pool.acquire({ library: 'test.fixture' })];
  for (const lease of leases) { seen.add(lease.address); lease.release(); }
  assert.ok(seen.has(aAddress), 'the least-loaded choice includes the restarted worker');
});

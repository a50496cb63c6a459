import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobState } from '../../libs/gen/aide/v1/common.js';
import { createLogger } from '../../libs/log.js';
import { inferDistributed } from '../../services/controller/orchestration/distributed-inference.js';
import { shard } from '../../services/controller/orchestration/shards.js';
import { trainRound, type RoundOutput, type RoundState, type RoundStore } from '../../services/controller/orchestration/distributed-train.js';
import { WorkerPool } from '../../services/controller/orchestration/worker-pool.js';
import { isStreamed } from '../../libs/worker-client/worker-client.js';
import { decodeWeights, encodeWeights, fixtureImages, fixtureJobHeader } from '../support/fixture-model.js';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.js';

const logger = createLogger('test', 'silent');
const WORKER_ENV = {
  AIDE_AIWORKER_HOST: '127.0.0.1', AIDE_AIWORKER_PORT: '0', AIDE_AIWORKER_BACKEND: 'cpu',
  AIDE_MODELS_EXTRA: './test/support/fixture-model.ts#FixtureModel', AIDE_AIWORKER_DRAIN_DEADLINE_S: '1',
};
const images = (n: number) => fixtureImages(n, (i) => i / 100);

/** A round's states in memory: each shard's and the round's outcome, as the workers streamed them. */
class MemoryRoundStore implements RoundStore<RoundState & { state: Buffer }> {
  readonly shards = new Map<number, RoundState & { state: Buffer }>();
  storedShard(): undefined { return undefined; }
  async saveShard(index: number, o: RoundOutput) {
    const s = await MemoryRoundStore.held(o);
    this.shards.set(index, s);
    return s;
  }
  saveRound(o: RoundOutput) { return MemoryRoundStore.held(o); }
  static async held({ pieces, ...rest }: RoundOutput) {
    assert.ok(isStreamed(pieces), 'these workers share no folder: states stream');
    const parts: Buffer[] = [];
    for await (const p of pieces) parts.push(Buffer.from(p));
    return { ...rest, state: Buffer.concat(parts) };
  }
}

test('distributed training over worker processes: weighted average, and a worker killed mid-shard', async (t) => {
  const workers: ServiceProcess[] = await Promise.all([startServiceProcess('worker', WORKER_ENV), startServiceProcess('worker', WORKER_ENV)]);
  const pool = new WorkerPool({ staticAddresses: workers.map((w) => w.address), refreshMs: 300, logger });
  t.after(() => { pool.stop(); for (const w of workers) w.kill(); });
  await pool.start();
  assert.equal(pool.snapshot().filter((m) => m.healthy).length, 2);
  const dispatch = { pool, library: 'test.fixture', maxAttempts: 3, logger };

  await t.test('K = 2: two shard states, averaged on one worker by shard size', async () => {
    const data = images(7);
    const start = Buffer.from(encodeWeights([1, 1, 1, 1]));
    const store = new MemoryRoundStore();
    const out = await trainRound({ dispatch: { ...dispatch, signal: new AbortController().signal }, header: fixtureJobHeader('j1', { steps: 2 }), images: data, input: start, numWorkers: 2, store });
    const shards = [0, 1].map((i) => store.shards.get(i)!);
    assert.equal(store.shards.size, 2);
    assert.deepEqual(shards.map((s) => s.numImages), [4, 3]);
    const [a, b] = shards.map((s) => decodeWeights(s.state));
    const expected = a!.map((v, j) => (v * 4 + b![j]! * 3) / 7);
    decodeWeights(out.state).forEach((v, j) => assert.ok(Math.abs(v - expected[j]!) < 1e-12, `weight ${j}`));
    assert.equal(a![0], 1 + 4);
    assert.equal(b![0], 1 + 3);
    assert.equal(out.numImages, 7);
  });

  await t.test('kill -9 of a worker mid-training: its shard moves to the other worker and the job succeeds', async () => {
    const victim = workers[0]!;
    let killed = false;
    const out = await trainRound({
      dispatch: { ...dispatch, signal: new AbortController().signal },
      header: fixtureJobHeader('j2', { steps: 20, stepMs: 25 }), images: images(6), input: null, numWorkers: 2, store: new MemoryRoundStore(),
      onProgress: (_part, _parts, e) => {
        if (!killed && e.state === JobState.JOB_STATE_RUNNING && e.done >= 2 && e.workerId.endsWith(String(victim.child.pid))) {
          killed = true;
          victim.kill('SIGKILL');
        }
      },
    });
    assert.ok(killed, 'a worker was killed mid-shard');
    assert.equal(await victim.exited, null);
    assert.equal(decodeWeights(out.state)[0], (3 * 3 + 3 * 3) / 6, 'both shards trained: each state counts its 3 images');
    assert.equal(pool.snapshot().find((m) => m.address === victim.address)?.healthy, false);

    const stored = new Map<string, number>();
    const { predicted, unreadable } = await inferDistributed({
      dispatch: { ...dispatch, signal: new AbortController().signal }, header: fixtureJobHeader('j3', { steps: 1 }), shards: shard(images(5), 2), state: out.state,
      store: async (batch) => { for (const p of batch) stored.set(p.imageId, p.predictions.length); },
    });
    assert.deepEqual([predicted, unreadable], [5, []]);
    assert.deepEqual([...stored.keys()].sort(), ['i0', 'i1', 'i2', 'i3', 'i4']);
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Config } from '../../libs/config/config.js';
import { isAideError } from '../../libs/errors.js';
import { JobState, type ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import type { ImageData } from '../../libs/gen/aide/v1/worker.js';
import { createLogger } from '../../libs/log.js';
import { loadRegistry } from '../../libs/plugin/registry.js';
import { averageStates, infer, train, workerClient } from '../../libs/worker-client/worker-client.js';
import { jobRequests } from '../../libs/worker-client/requests.js';
import { startWorker } from '../../services/worker/main.js';
import { checkHealth } from '../support/health.js';
import { waitUntil } from '../support/wait.js';
import { busTargets } from '../support/nats.js';
import { FixtureModel, fixtureCalls, fixtureSegmentation, encodeWeights, decodeWeights } from '../support/fixture-model.js';

const logger = createLogger('test', 'silent');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const header = (jobId: string, options: object = {}) => ({
  jobId, project: 'proj', modelLibrary: 'test.fixture', modelOptionsJson: JSON.stringify(options),
  annotationType: 2, predictionType: 2, ignoreUnlabeled: false, traceparent: '',
  labelClasses: [{ id: 'c1', project: 'proj', name: 'Elephant', color: '#ff0000', index: 1 }, { id: 'c2', project: 'proj', name: 'Giraffe', color: '', index: 2 }],
});
const images = (n: number, prefix = 'img'): ImageData[] => Array.from({ length: n }, (_, i) => ({
  id: `${prefix}${i}`, filename: `${prefix}/${i}.jpg`,
  annotations: [{ id: `a${i}`, imageId: `${prefix}${i}`, labelClassId: 'c1', unsure: false, author: 'x', createdAt: undefined, geometry: { $case: 'point', value: { x: 0.1 * (i % 10), y: 0.5 } } }],
}));

for (const target of await busTargets()) {
  test(`worker (${target.name} bus)`, async (t) => {
    if (target.skipReason) return t.skip(target.skipReason);
    const bus = await target.open();
    const registry = await loadRegistry({ builtins: [FixtureModel], logger });
    const config = Config.load({ text: '', env: { AIDE_AIWORKER_PORT: '0', AIDE_AIWORKER_HOST: '127.0.0.1', AIDE_SECURITY_PLAINTEXT: 'true', AIDE_AIWORKER_MAX_CONCURRENT_JOBS: '2', AIDE_AIWORKER_BACKEND: 'cpu' } });
    const w1 = await startWorker(config, logger, { registry, bus, fileSource: () => ({ getFile: async () => null }) });
    const w2 = await startWorker(config, logger, { registry, bus, fileSource: () => ({ getFile: async () => null }) });
    const c1 = workerClient(w1.addresses.grpc!);
    const c2 = workerClient(w2.addresses.grpc!);
    t.after(async () => { c1.close(); c2.close(); await w1.shutdown(1000); await w2.shutdown(1000); await bus.dispose(); });

    await t.test('capabilities', async () => {
      const caps = await c1.getCapabilities({});
      assert.equal(caps.backend, 'cpu');
      assert.equal(caps.maxConcurrentJobs, 2);
      assert.equal(caps.runningJobs, 0);
      assert.deepEqual(caps.modelLibraries, ['test.fixture']);
      assert.ok(caps.freeMemoryBytes > 0);
    });

    await t.test('200 MB state round-trips byte-exact through train; a flipped byte is DATA_LOSS before the model runs', async () => {
      const state = randomBytes(200 * 1024 * 1024);
      const before = fixtureCalls.length;
      const out = await train(c1, header('big', { echo: true, steps: 1 }), images(2), state);
      assert.equal(out.state.length, state.length);
      assert.equal(sha(out.state), sha(state));
      assert.equal(fixtureCalls.at(-1)!.stateBytes, state.length);
      assert.deepEqual(out.result.labelClassMap, { c1: 1, c2: 2 });

      // Corrupt one byte in flight: the worker must refuse before constructing the model.
      const calls = fixtureCalls.length;
      assert.equal(calls, before + 1);
      async function* corrupted() {
        for await (const r of jobRequests(header('corrupt', { echo: true }), images(1), state.subarray(0, 3 * 1024 * 1024))) {
          if (r.payload.$case === 'stateChunk' && r.payload.value.offset === 1024 * 1024) {
            const data = Buffer.from(r.payload.value.data);
            data[17] ^= 0xff;
            yield { payload: { ...r.payload, value: { ...r.payload.value, data } } };
          } else yield r;
        }
      }
      await assert.rejects(async () => { for await (const _ of c1.train(corrupted())) { /* drain */ } }, (e: unknown) => isAideError(e, 'DATA_LOSS'));
      assert.equal(fixtureCalls.length, calls, 'the model never saw the corrupt state');
    });

    await t.test('progress arrives in order on the stream and on the bus; the last has done == total', async () => {
      const streamed: ProgressEvent[] = [];
      const watcher = (async () => {
        const seen: ProgressEvent[] = [];
        for await (const { event } of bus.watch('proj', 'prog')) seen.push(event);
        return seen;
      })();
      const out = await train(c2, header('prog', { steps: 25, stepMs: 20 }), images(10), encodeWeights([1, 2, 3, 4]), { onProgress: (e) => streamed.push(e) });
      decodeWeights(out.state).forEach((v, j) => assert.ok(Math.abs(v - [11, 12, 7.5, 9][j]!) < 1e-9, `weight ${j} = ${v}`));
      assert.equal(out.result.stats.images, 10);
      const onBus = await watcher;
      for (const events of [streamed, onBus]) {
        assert.ok(events.length >= 3, `expected several events, got ${events.length}`);
        assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1), 'contiguous sequence numbers');
        const last = events.at(-1)!;
        assert.equal(last.state, JobState.JOB_STATE_SUCCEEDED);
        assert.equal(last.done, last.total);
        assert.equal(last.total, 25);
        assert.ok(events.every((e, i) => i === 0 || e.done >= events[i - 1]!.done), 'done never goes back');
      }
      assert.deepEqual(onBus.map((e) => e.seq), streamed.map((e) => e.seq));
    });

    await t.test('cancelling mid-train stops the model (its signal aborts it); the worker takes the next job', async () => {
      const ac = new AbortController();
      const callIndex = fixtureCalls.length;
      // A million steps: the model cannot finish on its own, so a free slot means the cancel stopped it.
      const run = train(c1, header('cancel-me', { steps: 1_000_000, stepMs: 20 }), images(3), null, {
        signal: ac.signal, onProgress: (e) => { if (e.done >= 3) ac.abort(); },
      });
      await assert.rejects(run, (e: unknown) => isAideError(e, 'CANCELLED'));
      let cancelledEvent: ProgressEvent | undefined;
      for await (const { event } of bus.watch('proj', 'cancel-me')) cancelledEvent = event;
      assert.equal(cancelledEvent?.state, JobState.JOB_STATE_CANCELLED);
      await waitUntil('the cancelled model to give its slot back', async () => (await c1.getCapabilities({})).runningJobs === 0);
      const call = fixtureCalls[callIndex];
      assert.equal(call?.method, 'train');
      assert.equal(call.cancelled, true, 'the model itself saw the abort and stopped');
      const next = await train(c1, header('after-cancel'), images(1), null);
      assert.equal(decodeWeights(next.state)[0], 1);
    });

    await t.test('a model exception fails the RPC with its message and a FAILED event; health stays SERVING', async () => {
      await assert.rejects(train(c1, header('boom', { fail: 'exploded on purpose', steps: 4 }), images(2), null),
        (e: unknown) => isAideError(e, 'INTERNAL') && /exploded on purpose/.test(e.message));
      let last: ProgressEvent | undefined;
      for await (const { event } of bus.watch('proj', 'boom')) last = event;
      assert.equal(last?.state, JobState.JOB_STATE_FAILED);
      assert.match(last!.message, /exploded on purpose/);
      assert.equal(await checkHealth(w1.addresses.grpc!, 'aide.v1.WorkerService'), 'SERVING');
    });

    await t.test('averaging K=4 states gives the image-count-weighted mean', async () => {
      const sets = [[1, 2, 3, 4], [5, 6, 7, 8], [-1, 0, 1, 2], [10, 20, 30, 40]];
      const counts = [10, 30, 20, 40];
      const out = await averageStates(c2, header('avg'), sets.map((w, i) => ({ state: encodeWeights(w), numImages: counts[i]! })));
      const expected = [0, 1, 2, 3].map((j) => sets.reduce((a, w, k) => a + w[j]! * counts[k]!, 0) / 100);
      decodeWeights(out.state).forEach((v, j) => assert.ok(Math.abs(v - expected[j]!) < 1e-12, `weight ${j}: ${v} vs ${expected[j]}`));
      assert.equal(out.result.numImages, 100);
      assert.deepEqual(fixtureCalls.at(-1)!.weights, counts);
    });

    await t.test('inference streams predictions per image', async () => {
      const got = [];
      for await (const p of infer(c1, header('inf'), images(5, 'u'), encodeWeights([0, 0, 0, 0]))) got.push(p);
      assert.deepEqual(got.map((p) => p.imageId), ['u0', 'u1', 'u2', 'u3', 'u4']);
      const first = got[0]!.predictions[0]!;
      assert.equal(first.geometry?.$case, 'point');
      assert.equal(first.labelClassId, 'c1');
    });

    await t.test('segmentation predictions larger than a message arrive whole, in chunks, image after image', async () => {
      // 1000×900 pixels × (1 + 4 + 2·4) bytes ≈ 11.7 MB: three 4 MB messages' worth.
      const got = [];
      for await (const p of infer(c1, header('seg', { segmentation: { width: 1000, height: 900 } }), images(2, 's'), null)) got.push(p);
      assert.deepEqual(got.map((p) => p.imageId), ['s0', 's1']);
      const expected = fixtureSegmentation(1000, 900);
      for (const image of got) {
        const seg = image.predictions[0]?.geometry;
        assert.equal(seg?.$case, 'segmentation');
        if (seg?.$case !== 'segmentation') return;
        assert.deepEqual([seg.value.width, seg.value.height, seg.value.numClasses], [1000, 900, 2]);
        assert.equal(sha(seg.value.labelMap), sha(expected.labelMap));
        assert.equal(sha(seg.value.confidenceMap), sha(new Uint8Array(expected.confidenceMap.buffer)));
        assert.equal(sha(seg.value.logitsMap), sha(new Uint8Array(expected.logitsMap!.buffer)));
      }
    });

    await t.test('two workers serve concurrently without sharing state; over max_concurrent is RESOURCE_EXHAUSTED', async () => {
      const slow = { steps: 200, stepMs: 10 };
      const runs = [
        train(c1, header('a1', slow), images(3, 'a'), encodeWeights([100, 0, 0, 0])),
        train(c1, header('a2', slow), images(4, 'b'), null),
        train(c2, header('b1', slow), images(5, 'c'), encodeWeights([1000, 0, 0, 0])),
      ];
      // Both of c1's slots taken (max_concurrent_jobs = 2), as the worker itself reports it.
      await waitUntil('both jobs on c1 to hold a slot', async () => (await c1.getCapabilities({})).runningJobs === 2);
      await assert.rejects(train(c1, header('a3', slow), images(1), null), (e: unknown) => isAideError(e, 'RESOURCE_EXHAUSTED'));
      const [a1, a2, b1] = await Promise.all(runs);
      assert.equal(decodeWeights(a1.state)[0], 103);
      assert.equal(decodeWeights(a2.state)[0], 4);
      assert.equal(decodeWeights(b1.state)[0], 1005);
    });
  });
}

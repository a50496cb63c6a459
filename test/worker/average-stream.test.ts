/**
 * The worker's AverageStates over gRPC for a built-in model takes the
 * streamed route (averageModelStateStreams: states combined as they arrive)
 * with the same result as the whole-state route, and a state that fails its
 * SHA-256 check ends the call with DATA_LOSS and no state, also when the
 * corruption makes its header unreadable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toChunks } from '../../libs/blob/index.js';
import { MemoryBus } from '../../libs/bus/memory-bus.js';
import { Config } from '../../libs/config/config.js';
import { isAideError } from '../../libs/errors.js';
import type { AverageStatesRequest } from '../../libs/gen/aide/v1/worker.js';
import { createLogger } from '../../libs/log.js';
import { probeContext } from '../../libs/plugin/probe.js';
import { loadRegistry } from '../../libs/plugin/registry.js';
import { averageStates, workerClient, type WorkerClient } from '../../libs/worker-client/worker-client.js';
import { LabelsClassifier } from '../../models/builtin/classifier/model.js';
import { classifierSpecs } from '../../models/builtin/classifier/network.js';
import { initialParameters } from '../../models/builtin/network.js';
import { decodeState, encodeState } from '../../models/builtin/state-format.js';
import { startWorker } from '../../services/worker/main.js';

const logger = createLogger('test', 'silent');
const CLASSES = ['c1', 'c2'];
const header = (jobId: string) => ({
  jobId, project: 'proj', modelLibrary: 'builtin.labels', modelOptionsJson: '', numImages: 0, stateSize: 0, stateFile: undefined, outputStateFile: '',
  annotationType: 1, predictionType: 1, ignoreUnlabeled: false, traceparent: '',
  labelClasses: CLASSES.map((id, k) => ({ id, project: 'proj', name: id, color: '', index: k + 1 })),
});
/** A classifier state with seeded random parameters: about 1.5 MB, two gRPC chunks. */
const state = (seed: number) => {
  const arch = { inputSize: 32, width: 64, depth: 3, classes: CLASSES.length };
  return encodeState({ header: { model: 'builtin.labels', arch, labelClasses: CLASSES, optionsHash: 'x' }, tensors: initialParameters(classifierSpecs(arch), seed) });
};

describe('worker AverageStates for a built-in model', () => {
  let worker: Awaited<ReturnType<typeof startWorker>>;
  let client: WorkerClient;
  const bus = new MemoryBus();
  const states = [1, 2, 3].map(state);
  const counts = [10, 30, 20];

  before(async () => {
    const registry = await loadRegistry({ builtins: [LabelsClassifier], logger });
    const config = Config.load({ text: '', env: { AIDE_AIWORKER_PORT: '0', AIDE_AIWORKER_HOST: '127.0.0.1', AIDE_SECURITY_PLAINTEXT: 'true', AIDE_AIWORKER_BACKEND: 'cpu' } });
    worker = await startWorker(config, logger, { registry, bus, fileSource: () => ({ getFile: async () => null }) });
    client = workerClient(worker.addresses.grpc!);
  });
  after(async () => { client.close(); await worker.shutdown(1000); await bus.close(); });

  it('streams: the same state as the whole-state average, without calling averageModelStates', async () => {
    const whole = LabelsClassifier.prototype.averageModelStates;
    const expected = decodeState(await whole.call(new LabelsClassifier(probeContext({})), states, () => {}, counts));
    LabelsClassifier.prototype.averageModelStates = () => Promise.reject(new Error('the whole-state route was taken'));
    try {
      const out = await averageStates(client, header('avg'), states.map((s, i) => ({ state: s, numImages: counts[i]! })));
      assert.ok(states[0]!.length > 1 << 20, 'states span several chunks');
      assert.equal(out.result.numImages, 60);
      const got = decodeState(out.state);
      assert.deepEqual(got.header, expected.header);
      got.tensors.forEach((t, i) => t.data.forEach((v, j) => assert.ok(Math.abs(v - expected.tensors[i]!.data[j]!) <= 1e-6, `${t.name}[${j}]`)));
    } finally {
      LabelsClassifier.prototype.averageModelStates = whole;
    }
  });

  for (const [where, offset, byte] of [['in its data', 500_000, 3], ['in its header', 0, 40]] as const) {
    it(`a chunk of a state corrupted ${where} is DATA_LOSS, and no state comes back`, async () => {
      async function* requests(): AsyncGenerator<AverageStatesRequest> {
        yield { payload: { $case: 'header', value: { job: header(`corrupt-${offset}`), numStates: states.length } } };
        for (const [index, s] of states.entries()) {
          for await (const chunk of toChunks(s, { chunkSize: 100_000 })) {
            const data = Buffer.from(chunk.data);
            if (index === 1 && chunk.offset === offset) data[byte] ^= 0xff;
            yield { payload: { $case: 'part', value: { index, numImages: counts[index]!, chunk: { ...chunk, data }, file: undefined } } };
          }
        }
      }
      const received: string[] = [];
      await assert.rejects(async () => {
        for await (const r of client.averageStates(requests())) if (r.payload && r.payload.$case !== 'progress') received.push(r.payload.$case);
      }, (e: unknown) => isAideError(e, 'DATA_LOSS'));
      assert.deepEqual(received, []);
    });
  }
});

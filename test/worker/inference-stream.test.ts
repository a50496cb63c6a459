/**
 * A model's inferenceStream through the worker: each part's predictions (and
 * an unreadable image among them) reach the caller while the model still
 * works, many images a message; an entry that is not the job's, or twice, fails the job loudly;
 * a caller that stops mid-stream stops the model and frees the slot.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBus } from '../../libs/bus/index.js';
import { Config } from '../../libs/config/config.js';
import { isAideError } from '../../libs/errors.js';
import type { ImageData } from '../../libs/gen/aide/v1/worker.js';
import { createLogger } from '../../libs/log.js';
import type { PluginContext } from '../../libs/plugin/context.js';
import type { InferenceData, InferenceResult } from '../../libs/plugin/data.js';
import type { PluginMetadataInput } from '../../libs/plugin/metadata.js';
import type { AIModel, UpdateState } from '../../libs/plugin/plugin.js';
import { loadRegistry } from '../../libs/plugin/registry.js';
import { jobRequests } from '../../libs/worker-client/requests.js';
import { infer, workerClient } from '../../libs/worker-client/worker-client.js';
import { startWorker } from '../../services/worker/main.js';
import { waitUntil } from '../support/wait.js';

/** What the model did, in order: 'part N' when it yields a part, 'stopped' when its generator is left. */
const log: string[] = [];

/** Two images a part; image 'bad' unreadable; options.mode bends the contract. */
class StreamingModel implements AIModel {
  static readonly metadata: PluginMetadataInput = {
    kind: 'model', key: 'test.streaming', name: 'Streaming', author: 'tests', description: 'Yields its inference in parts.',
    annotationType: ['points'], predictionType: 'points', canAddLabelClasses: true, canRemoveLabelClasses: true,
  };

  readonly #mode: string;
  constructor(ctx: PluginContext) { this.#mode = String(ctx.options.mode ?? 'ok'); }
  train(): never { throw new Error('not used'); }
  averageModelStates(): never { throw new Error('not used'); }
  inference(): never { throw new Error('the worker should prefer inferenceStream'); }

  async *inferenceStream(_state: Uint8Array | null, data: InferenceData, _u: UpdateState, signal?: AbortSignal): AsyncGenerator<InferenceResult> {
    const ids = Object.keys(data.images);
    try {
      const perPart = this.#mode === 'one-part' ? ids.length : 2;
      for (let start = 0, n = 0; start < ids.length; start += perPart, n++) {
        signal?.throwIfAborted();
        const part: InferenceResult = {};
        for (const id of ids.slice(start, start + perPart)) {
          part[id] = id === 'bad' ? { predictions: [], unreadable: 'not a readable image' } : { predictions: [{ x: 0.5, y: 0.5, confidence: 0.9 }] };
        }
        if (this.#mode === 'foreign' && n === 1) part.stranger = { predictions: [] };
        if (this.#mode === 'twice' && n === 1) part[ids[0]!] = { predictions: [] };
        log.push(`part ${n}`);
        yield part;
        if (this.#mode === 'slow') await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      log.push('stopped');
    }
  }
}

const header = (jobId: string, mode: string) => ({
  jobId, project: 'proj', modelLibrary: 'test.streaming', modelOptionsJson: JSON.stringify({ mode }),
  annotationType: 2, predictionType: 2, ignoreUnlabeled: false, traceparent: '', labelClasses: [],
});
const images = (ids: string[]): ImageData[] => ids.map((id) => ({ id, filename: `${id}.png`, annotations: [] }));

test('inferenceStream through the worker', async (t) => {
  const logger = createLogger('test', 'silent');
  const registry = await loadRegistry({ builtins: [StreamingModel], logger });
  const config = Config.load({ text: '', env: { AIDE_AIWORKER_PORT: '0', AIDE_AIWORKER_HOST: '127.0.0.1', AIDE_SECURITY_PLAINTEXT: 'true', AIDE_AIWORKER_BACKEND: 'cpu' } });
  const worker = await startWorker(config, logger, { registry, bus: new MemoryBus(), fileSource: () => ({ getFile: async () => null }) });
  const client = workerClient(worker.addresses.grpc!);
  t.after(async () => { client.close(); await worker.shutdown(1000); });

  await t.test('parts reach the caller while the model works; an unreadable image in a part is reported in its place', async () => {
    log.length = 0;
    const seen: string[] = [];
    const unreadable: string[] = [];
    // 50 ms between parts: the first part's predictions arrive while the model is still at work.
    for await (const p of infer(client, header('ok', 'slow'), images(['a', 'bad', 'c', 'd', 'e']), null, { onUnreadable: (u) => unreadable.push(`${u.imageId}: ${u.reason}`) })) {
      seen.push(p.imageId);
      if (p.imageId === 'a') assert.ok(!log.includes('stopped'), `the first part arrived before the model ended: ${log.join(', ')}`);
    }
    assert.deepEqual(seen, ['a', 'c', 'd', 'e']);
    assert.deepEqual(unreadable, ['bad: not a readable image']);
    assert.deepEqual(log, ['part 0', 'part 1', 'part 2', 'stopped']);
  });

  await t.test('images\' predictions travel many a message, in order, an unreadable image between them in its place', async () => {
    const cases = async (mode: string, ids: string[]) => {
      const out: string[] = [];
      for await (const m of client.inference(jobRequests(header(`messages-${mode}`, mode), images(ids), null))) {
        const p = m.payload!;
        if (p.$case === 'predictionsList') out.push(p.value.images.map((i) => i.imageId).join(','));
        else if (p.$case === 'unreadable') out.push(`unreadable ${p.value.imageId}`);
        else if (p.$case !== 'progress') out.push(p.$case);
      }
      return out;
    };
    assert.deepEqual(await cases('ok', ['a', 'bad', 'c', 'd', 'e']), ['a', 'unreadable bad', 'c,d', 'e']);
    const many = Array.from({ length: 1000 }, (_, i) => `m${i}`);
    assert.deepEqual(await cases('one-part', many), [many.join(',')], 'a part of 1,000 small images is one message');
  });

  for (const [mode, why] of [['foreign', /stranger, which is not the job's/], ['twice', /sent already/]] as const) {
    await t.test(`an entry ${mode === 'foreign' ? 'for an image not of the job' : 'sent twice'} fails the job with INVALID_ARGUMENT`, async () => {
      await assert.rejects(async () => { for await (const _ of infer(client, header(mode, mode), images(['a', 'b', 'c', 'd']), null)) { /* drain */ } },
        (e: unknown) => isAideError(e, 'INVALID_ARGUMENT') && why.test(e.message));
    });
  }

  await t.test('a caller that stops mid-stream stops the model; the slot is free again', async () => {
    log.length = 0;
    const stop = new AbortController();
    await assert.rejects(async () => {
      for await (const p of infer(client, header('stop', 'slow'), images(Array.from({ length: 40 }, (_, i) => `i${i}`)), null, { signal: stop.signal })) {
        if (p.imageId === 'i2') stop.abort();
      }
    });
    await waitUntil('the model to stop', async () => log.includes('stopped'), 5000, 20);
    assert.ok(log.filter((l) => l.startsWith('part')).length < 20, `the model stopped early: ${log.join(', ')}`);
    await waitUntil('the slot to be free', async () => (await client.getCapabilities({})).runningJobs === 0, 5000, 20);
  });
});

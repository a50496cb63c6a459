/**
 * States by file name between the controller's state folder and worker
 * processes that share it ([AIWorker] state_dir): no state bytes cross the
 * calls, each read is checked against the stored SHA-256, each write is a part
 * the controller commits, and a worker whose folder is another (its id
 * differs) gets and returns states as streams.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BlobFolder } from '../../libs/blob/index.js';
import { isAideError } from '../../libs/errors.js';
import { createLogger } from '../../libs/log.js';
import { jobRequests } from '../../libs/worker-client/requests.js';
import { averageStatesInto, isStreamed, trainInto, workerClient, type ArrivingState, type StreamedState } from '../../libs/worker-client/worker-client.js';
import { trainRound, type RoundOutput, type RoundState, type RoundStore } from '../../services/controller/orchestration/distributed-train.js';
import { WorkerPool } from '../../services/controller/orchestration/worker-pool.js';
import { decodeWeights, encodeWeights, fixtureImages, fixtureJobHeader } from '../support/fixture-model.js';
import { startServiceProcess } from '../support/service-process.js';

const logger = createLogger('test', 'silent');
const WORKER_ENV = {
  AIDE_MODELS_EXTRA: './test/support/fixture-model.ts#FixtureModel', AIDE_AIWORKER_HOST: '127.0.0.1', AIDE_AIWORKER_PORT: '0', AIDE_AIWORKER_BACKEND: 'cpu',
  AIDE_AIWORKER_STATE_SYNC: 'false', AIDE_AIWORKER_MAX_CONCURRENT_JOBS: '1',
};
const images = (n: number) => fixtureImages(n, (i) => i / 100);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();

/** A blob committed to the folder, as a stored state the workers are handed. */
async function stored(folder: BlobFolder, name: string, bytes: Uint8Array): Promise<StreamedState> {
  await folder.write(name, (async function* () { yield bytes; })());
  await folder.commit(name);
  return { size: bytes.byteLength, sha256: sha256(bytes), file: name, open: () => folder.read(name, bytes.byteLength) };
}

/** A sink that commits a part the worker wrote (or takes streamed pieces) and says which it was. */
async function arrived(folder: BlobFolder, state: ArrivingState): Promise<{ streamed: boolean; bytes: Buffer }> {
  if (isStreamed(state)) {
    const pieces: Buffer[] = [];
    for await (const p of state) pieces.push(p);
    return { streamed: true, bytes: Buffer.concat(pieces) };
  }
  await folder.commit(state.part);
  const bytes = await folder.readWhole(state.part, state.size, state.sha256);
  return { streamed: false, bytes };
}

test('states by file name between the state folder and worker processes that share it', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'aide-shared-states-'));
  const otherDir = await mkdtemp(path.join(tmpdir(), 'aide-other-states-'));
  const folder = await BlobFolder.open(dir, { sync: false });
  await BlobFolder.open(otherDir, { sync: false });
  const [sharing, elsewhere, none] = await Promise.all([
    startServiceProcess('worker', { ...WORKER_ENV, AIDE_AIWORKER_STATE_DIR: dir }),
    startServiceProcess('worker', { ...WORKER_ENV, AIDE_AIWORKER_STATE_DIR: otherDir }),
    startServiceProcess('worker', WORKER_ENV),
  ]);
  const clients = [sharing, elsewhere, none].map((w) => workerClient(w.address));
  t.after(async () => {
    for (const c of clients) c.close();
    for (const w of [sharing, elsewhere, none]) w.kill();
    await rm(dir, { recursive: true, force: true });
    await rm(otherDir, { recursive: true, force: true });
  });
  const [onSharing, , onNone] = clients;

  await t.test('each worker reports the id of the folder it can reach', async () => {
    const ids = await Promise.all(clients.map(async (c) => (await c.getCapabilities({})).stateFolderId));
    assert.equal(ids[0], folder.id);
    assert.ok(ids[1] && ids[1] !== folder.id, 'another folder, another id');
    assert.equal(ids[2], '');
  });

  await t.test('a shared state goes by name: the request carries no chunk, the new state comes back as a part with its SHA-256', async () => {
    const input = await stored(folder, 'echo-in', new Uint8Array(3_000_000).map((_, i) => i * 7));
    const cases: string[] = [];
    for await (const m of jobRequests(fixtureJobHeader('x', {}), images(1), input, { shared: folder })) cases.push(m.payload.$case);
    assert.deepEqual(cases, ['header', 'images']);

    const { result, stored: out } = await trainInto(onSharing!, fixtureJobHeader('echo', { steps: 1, echo: true }), images(2), input,
      (_result, state) => arrived(folder, state), { sharedFolder: folder });
    assert.equal(out.streamed, false, 'written into the folder by the worker');
    assert.deepEqual(out.bytes, Buffer.from(await folder.readWhole('echo-in', input.size, input.sha256!)));
    assert.deepEqual(Buffer.from(result.stateSha256), input.sha256);
  });

  await t.test('a corrupt state file is DATA_LOSS, and no part is left in the folder', async () => {
    const good = new Uint8Array(100_000).fill(5);
    const input = await stored(folder, 'corrupt-in', good);
    const bad = Buffer.from(good);
    bad[50_000] ^= 0xff;
    await writeFile(path.join(dir, 'corrupt-in'), bad);
    const before = (await readdir(dir)).filter((f) => f.endsWith('.part'));
    await assert.rejects(trainInto(onSharing!, fixtureJobHeader('corrupt', { steps: 1, echo: true }), images(1), input, (_r, s) => arrived(folder, s), { sharedFolder: folder }),
      (e: unknown) => isAideError(e, 'DATA_LOSS'));
    assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.part')), before);
  });

  await t.test('a write aborted between pieces (its caller went away) leaves no part', async () => {
    const abort = new AbortController();
    async function* pieces(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(1000);
      abort.abort(new Error('the controller cancelled the job'));
      yield new Uint8Array(1000);
    }
    await assert.rejects(folder.write('aborted-out', pieces(), { signal: abort.signal }), /cancelled the job/);
    assert.equal(await folder.partSize('aborted-out'), undefined);
  });

  await t.test('a worker that shares no folder refuses a state file (FAILED_PRECONDITION) instead of training from nothing', async () => {
    const input = await stored(folder, 'no-folder-in', encodeWeights([1, 2, 3, 4]));
    await assert.rejects(trainInto(onNone!, fixtureJobHeader('nofolder', { steps: 1 }), images(1), input, (_r, s) => arrived(folder, s), { sharedFolder: folder }),
      (e: unknown) => isAideError(e, 'FAILED_PRECONDITION'));
  });

  await t.test('averaging reads K states from the folder and writes the weighted mean there', async () => {
    const weights = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]];
    const counts = [1, 2, 3];
    const states = await Promise.all(weights.map(async (w, i) => ({ state: await stored(folder, `avg-in-${i}`, encodeWeights(w)), numImages: counts[i]! })));
    const { stored: out } = await averageStatesInto(onSharing!, fixtureJobHeader('avg', {}), states, (_r, s) => arrived(folder, s), { sharedFolder: folder });
    assert.equal(out.streamed, false);
    const expected = weights[0]!.map((_, j) => weights.reduce((sum, w, i) => sum + w[j]! * counts[i]!, 0) / 6);
    decodeWeights(out.bytes).forEach((v, j) => assert.ok(Math.abs(v - expected[j]!) < 1e-12, `weight ${j}`));
  });

  await t.test('a round over a worker sharing the folder and one that does not: parts from the one, streams from the other, one average', async () => {
    const pool = new WorkerPool({ staticAddresses: [sharing.address, elsewhere.address], refreshMs: 300, logger });
    t.after(() => pool.stop());
    await pool.start();
    const kinds: boolean[] = [];
    const keep = async (o: RoundOutput): Promise<RoundState & { state: Buffer }> => {
      const { streamed, bytes } = await arrived(folder, o.pieces);
      kinds.push(streamed);
      return { ...o, state: bytes };
    };
    const store: RoundStore<RoundState & { state: Buffer }> = { storedShard: () => undefined, saveShard: (_i, o) => keep(o), saveRound: keep };
    const input = await stored(folder, 'round-in', encodeWeights([1, 1, 1, 1]));
    const out = await trainRound({
      dispatch: { pool, library: 'test.fixture', maxAttempts: 2, logger, signal: new AbortController().signal, stateFolder: folder },
      header: fixtureJobHeader('round', { steps: 2, stepMs: 200 }), images: images(6), input, numWorkers: 2, store,
    });
    assert.deepEqual(kinds.slice(0, 2).sort(), [false, true], 'one shard by file, one streamed');
    assert.equal(decodeWeights(out.state)[0], 1 + 3, 'each shard trained on 3 images from the stored input');
    assert.equal(out.numImages, 6);
  });
});

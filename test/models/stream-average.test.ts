/**
 * Streamed averaging of built-in states (models/builtin/stream-average.ts via
 * averageModelStateStreams): the same result as the whole-state average
 * whatever the piece boundaries, the same refusals, errors of a state's
 * stream propagated, and peak memory of about one state (child process).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { dataLoss, isAideError } from '../../libs/errors.js';
import { probeContext } from '../../libs/plugin/probe.js';
import type { StateStream } from '../../libs/plugin/plugin.js';
import { LabelsClassifier } from '../../models/builtin/classifier/model.js';
import { classifierSpecs, HEAD, type ClassifierArch } from '../../models/builtin/classifier/network.js';
import { initialParameters } from '../../models/builtin/network.js';
import { withClasses } from '../../models/builtin/label-classes.js';
import { decodeState, encodeState, type ModelState } from '../../models/builtin/state-format.js';
import { averageStateStreams } from '../../models/builtin/stream-average.js';

const quiet = () => {};
const model = () => new LabelsClassifier(probeContext(JSON.parse(LabelsClassifier.getDefaultOptions())));
const ARCH: ClassifierArch = { inputSize: 32, width: 8, depth: 2, classes: 3 };
const CLASSES = ['lc-a', 'lc-b', 'lc-c'];

/** A classifier state with random parameters (seeded), over `classes` in that order. */
function state(seed: number, { arch = ARCH, classes = CLASSES, key = 'builtin.labels' } = {}): ModelState {
  return {
    header: { model: key, arch: { ...arch, classes: classes.length }, labelClasses: classes, optionsHash: 'x', stats: { images: seed } },
    tensors: initialParameters(classifierSpecs({ ...arch, classes: classes.length }), seed),
  };
}

/** The bytes in pieces of 1…13 bytes first (splitting the prefix, header and floats), then of `size`. */
async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (let k = 1; at < bytes.length && k <= 13; k++) { yield bytes.subarray(at, at + k); at += k; }
  for (; at < bytes.length; at += size) yield bytes.subarray(at, Math.min(at + size, bytes.length));
}

const streams = (states: readonly Uint8Array[], weights: readonly number[], size = 4097): StateStream[] =>
  states.map((s, index) => ({ index, count: states.length, weight: weights[index]!, bytes: pieces(s, size) }));

async function* iterate<T>(items: readonly T[]): AsyncGenerator<T> { yield* items; }

const averaged = async (states: readonly Uint8Array[], weights: readonly number[], size?: number) =>
  Buffer.concat(await model().averageModelStateStreams(iterate(streams(states, weights, size)), quiet));

function assertClose(actual: ModelState, expected: ModelState): void {
  assert.deepEqual(actual.header, expected.header);
  assert.deepEqual(actual.tensors.map((t) => [t.name, t.shape]), expected.tensors.map((t) => [t.name, t.shape]));
  actual.tensors.forEach((t, i) => t.data.forEach((v, j) => {
    const e = expected.tensors[i]!.data[j]!;
    assert.ok(Math.abs(v - e) <= 1e-6 * Math.max(1, Math.abs(e)), `${t.name}[${j}]: ${v} vs ${e}`);
  }));
}

describe('streamed averaging of built-in states', () => {
  it('equals the whole-state average, whatever the piece boundaries, also for a state in another class order', async () => {
    const inputs = [state(1), state(2), withClasses(state(3), ['lc-c', 'lc-a', 'lc-b'], HEAD), state(4)].map(encodeState);
    const weights = [10, 30, 20, 40];
    const expected = decodeState(await model().averageModelStates(inputs, quiet, weights));
    for (const size of [4097, 1 << 20, 6]) assertClose(decodeState(await averaged(inputs, weights, size)), expected);
    assert.equal(decodeState(await averaged(inputs, weights)).header.stats?.images, 100);
  });

  it('refuses states of another model, architecture, label classes or tensors', async () => {
    const base = encodeState(state(1));
    const refused = (other: ModelState, why: RegExp) => assert.rejects(averaged([base, encodeState(other)], [1, 1]), why);
    await refused(state(2, { key: 'builtin.points' }), /model state is from 'builtin\.points', not 'builtin\.labels'/);
    await refused(state(2, { arch: { ...ARCH, width: 16 } }), /another architecture: width 16 ≠ 8/);
    await refused(state(2, { classes: ['lc-a', 'lc-b', 'lc-d'] }), /different label classes/);
    const extra = state(2);
    extra.tensors.push({ name: 'extra', shape: [2], data: new Float32Array(2) });
    await refused(extra, /tensors do not match its architecture/);
    const renamed = state(2);
    renamed.tensors[0]!.name = 'other';
    const generic = { check: () => {}, head: HEAD };
    await assert.rejects(averageStateStreams(iterate(streams([base, encodeState(renamed)], [1, 1])), generic), /different tensors/);
    await assert.rejects(averaged([base, base.subarray(0, base.length - 3)], [1, 1]), /tensors run past the end/);
    await assert.rejects(averaged([base, base.subarray(0, 40)], [1, 1]), /header runs past the end/);
    await assert.rejects(averaged([base, base], [0, 0]), /not all zero/);
  });

  it('lets an error of a state\'s stream through and returns nothing', async () => {
    const [a, b] = [state(1), state(2)].map(encodeState);
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield b!.subarray(0, 1000);
      throw dataLoss('blob of 1000 bytes fails its sha256 check');
    }
    const inputs: StateStream[] = [...streams([a!], [1]), { index: 1, count: 2, weight: 1, bytes: failing() }];
    await assert.rejects(model().averageModelStateStreams(iterate(inputs), quiet), (e: unknown) => isAideError(e, 'DATA_LOSS'));
  });

  it('holds about one state: K=8 states of 64 MB streamed grow RSS by less than 3 states', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./stream-average-rss-child.ts', import.meta.url)), '8', String(64e6)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, out);
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as { correct: boolean; stateBytes: number; rssGrowthBytes: number };
    assert.ok(result.correct, 'the streamed average of 8 copies equals the state');
    assert.ok(result.rssGrowthBytes < 3 * result.stateBytes, `RSS grew by ${result.rssGrowthBytes} bytes for states of ${result.stateBytes}`);
  });
});

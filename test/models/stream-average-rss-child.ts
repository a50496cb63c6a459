/**
 * Child process of stream-average.test.ts and bench/states/average.ts: streams
 * K built-in states through the worker's path minus gRPC (toChunks in 1 MiB
 * chunks → verifyChunks → averageStateStreams) and prints one JSON line with
 * the state size, the peak RSS growth over the RSS before averaging, and
 * whether the result is right.
 *
 *   node --import tsx test/models/stream-average-rss-child.ts K BYTES   states generated piece by piece
 *   node --import tsx test/models/stream-average-rss-child.ts FILE…     states read from files
 *
 * Generated state k repeats its own 1 MiB block of floats; nothing holds a
 * state whole, so any growth beyond the accumulator is the averager's.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { toChunks, verifyChunks } from '../../libs/blob/index.js';
import { decodeState, encodeStatePrefix } from '../../models/builtin/state-format.js';
import { averageStateStreams } from '../../models/builtin/stream-average.js';

const BLOCK_FLOATS = 1 << 18;

/**
 * This process's peak RSS: VmHWM on Linux, which starts afresh with the
 * process image; getrusage's maxRSS would still hold the peak of the parent
 * this child was forked from.
 */
function peakRss(): number {
  const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return hwm ? Number(hwm[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

/** Header and padding of a generated state of about `bytes` bytes: one tensor "w" of `floats` values. */
export function syntheticPrefix(floats: number): Uint8Array {
  return encodeStatePrefix({ model: 'synthetic', arch: {}, labelClasses: [], optionsHash: '' }, [{ name: 'w', shape: [floats] }]);
}

/** Float i of generated state k. */
const value = (k: number, i: number) => ((i % BLOCK_FLOATS) % 1000) / 1000 - 0.5 + k;

function* generated(k: number, floats: number): Generator<Uint8Array> {
  yield syntheticPrefix(floats);
  const block = Float32Array.from({ length: BLOCK_FLOATS }, (_, i) => value(k, i));
  const bytes = new Uint8Array(block.buffer);
  for (let i = 0; i < floats; i += BLOCK_FLOATS) yield bytes.subarray(0, Math.min(BLOCK_FLOATS, floats - i) * 4);
}

const args = process.argv.slice(2);
const fromFiles = args.length > 0 && Number.isNaN(Number(args[0]));
const k = fromFiles ? args.length : Number(args[0] ?? 8);
const floats = fromFiles ? 0 : Math.floor((Number(args[1] ?? 64e6) - syntheticPrefix(0).length) / 4);
const sizes = fromFiles ? await Promise.all(args.map(async (f) => (await stat(f)).size)) : Array.from({ length: k }, () => syntheticPrefix(floats).length + floats * 4);
const sources = (i: number): AsyncIterable<Uint8Array> | Iterable<Uint8Array> =>
  fromFiles ? createReadStream(args[i]!, { highWaterMark: 1 << 20 }) : generated(i, floats);

async function* states() {
  for (let i = 0; i < k; i++) {
    const chunks = toChunks(sources(i), { totalSize: sizes[i]! });
    yield { weight: i + 1, count: k, bytes: verifyChunks(chunks, { maxSize: sizes[i]! }) };
  }
}

const before = process.memoryUsage().rss;
const pieces = await averageStateStreams(states(), { check: () => {}, head: { kernel: 'w', bias: 'w' } });
const maxRss = peakRss();
let correct = true;
if (!fromFiles) {
  const out = decodeState(Buffer.concat(pieces)).tensors[0]!.data;
  const weights = Array.from({ length: k }, (_, i) => i + 1);
  const total = weights.reduce((a, b) => a + b, 0);
  for (const i of [0, 1, 999, BLOCK_FLOATS + 7, floats - 1]) {
    const expected = weights.reduce((sum, w, s) => sum + w * Math.fround(value(s, i)), 0) / total;
    if (Math.abs(out[i]! - expected) > 1e-5 * Math.max(1, Math.abs(expected))) correct = false;
  }
}
console.log(JSON.stringify({ states: k, stateBytes: Math.max(...sizes), rssBeforeBytes: before, rssGrowthBytes: maxRss - before, correct }));

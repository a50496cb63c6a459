/**
 * Weighted averaging (FedAvg) of built-in model states that arrive as byte
 * streams, one state after another: each state's float32 data are added into
 * one accumulator chunk by chunk as they arrive, so memory holds the
 * accumulator (one state) plus the chunk in hand, never an input state whole.
 * Same result (up to float rounding) and same refusals as averageClassStates
 * over decoded states.
 *
 * A state is checked from its first bytes (its header) against the first
 * state: model, architecture, label classes, tensors. The rare state whose
 * class order differs from the first's, or whose tensors are not laid out one
 * after another as encodeState writes them, is collected whole, decoded and
 * aligned (withClasses) before it is added.
 *
 * The sum runs in the project's SIMD module (libs/tf/simd/weighted-sum.ts) on
 * a WebAssembly memory of this average's own: [scratch | accumulator]. Each
 * piece is copied into the scratch (behind the 0–3 bytes of a float the
 * previous piece split), then added; WebAssembly memory is little-endian like
 * the format, whatever the platform.
 */
import type { StateStream } from '../../libs/plugin/plugin.js';
import { simdKernelsOn, type SimdKernels } from '../../libs/tf/wasm-kernels/simd-module.js';
import { withClasses, type ClassHead } from './label-classes.js';
import {
  dataStart, decodeState, encodeState, encodeStatePrefix, expectModel, parseStateHeader, parseStatePrefix,
  PREFIX_BYTES, tensorSize, type StateHeader,
} from './state-format.js';

export interface StreamAverageOptions {
  /** The model's own check of a state's header (its key, its tensors for its architecture); throws to refuse. */
  check(header: StateHeader): void;
  head: ClassHead;
  signal?: AbortSignal;
  /** Called after each state has been added: states added so far, of how many. */
  added?(done: number, of: number): void;
}

/** Bytes copied into WebAssembly memory at a time (a gRPC chunk is 1 MiB). */
const SCRATCH_BYTES = 1 << 20;
const PAGE_BYTES = 65536;
/** The scratch plus room for a split float carried in front of it, in whole pages. */
const ACC_OFFSET = SCRATCH_BYTES + PAGE_BYTES;
const MAX_PAGES = 65536; // 4 GiB: the most a 32-bit WebAssembly memory holds
/** A JSON header larger than this is refused rather than buffered. */
const MAX_HEADER_BYTES = 64 << 20;
const NOT_ALL_ZERO = 'averaging weights must be one non-negative number per state, not all zero';

/**
 * Σ wₖ·xₖ / Σ wₖ over float32 data streamed in pieces of any size, in
 * WebAssembly memory: the first state written, the next added, the last one's
 * sum scaled by 1 / Σ wₖ as it is added.
 */
class WeightedSum {
  readonly #kernels: SimdKernels;
  readonly #memory: WebAssembly.Memory;
  readonly #scratch: Uint8Array;
  /** Floats added so far of the current state. */
  #at = 0;
  /** Bytes of a split float waiting at the start of the scratch. */
  #carry = 0;
  /** States begun: the first one is written, the others added. */
  #states = 0;
  #weight = 0;
  #scale = 1;

  constructor(readonly floats: number) {
    const pages = Math.ceil((ACC_OFFSET + floats * 4) / PAGE_BYTES);
    if (pages > MAX_PAGES) throw new Error(`a model state of ${floats * 4} data bytes is too large to average (at most ${MAX_PAGES * PAGE_BYTES - ACC_OFFSET})`);
    this.#memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    this.#kernels = simdKernelsOn(this.#memory);
    this.#scratch = new Uint8Array(this.#memory.buffer, 0, ACC_OFFSET);
  }

  /** Starts the next state: its floats are added times `weight`, the sum then times `scale`. */
  begin(weight: number, scale: number): void {
    this.#at = 0;
    this.#carry = 0;
    this.#states++;
    this.#weight = weight;
    this.#scale = scale;
  }

  /** Floats still expected of the current state (a split float counts as expected). */
  get remainingBytes(): number {
    return (this.floats - this.#at) * 4 - this.#carry;
  }

  /** Adds the next little-endian float32 bytes of the current state. */
  add(bytes: Uint8Array): void {
    for (let start = 0; start < bytes.length; start += SCRATCH_BYTES) {
      const piece = bytes.subarray(start, Math.min(start + SCRATCH_BYTES, bytes.length));
      this.#scratch.set(piece, this.#carry);
      const filled = this.#carry + piece.length;
      const n = filled >>> 2;
      if (this.#at + n > this.floats) throw new Error('more float data than the state\'s tensors hold');
      const acc = ACC_OFFSET + this.#at * 4;
      if (this.#states === 1) this.#kernels.weightedSet(acc, 0, n, this.#weight * this.#scale);
      else this.#kernels.weightedAdd(acc, 0, n, this.#weight, this.#scale);
      this.#at += n;
      this.#carry = filled & 3;
      this.#scratch.copyWithin(0, n * 4, filled);
    }
  }

  /** The data section: a view of the accumulator (little-endian float32). */
  data(): Uint8Array {
    return new Uint8Array(this.#memory.buffer, ACC_OFFSET, this.floats * 4);
  }
}

/** Reads a byte stream: exact lengths for the prefix and header, then whatever comes. */
class ByteReader {
  readonly #it: AsyncIterator<Uint8Array>;
  #piece: Uint8Array = new Uint8Array(0);

  constructor(bytes: AsyncIterable<Uint8Array>) {
    this.#it = bytes[Symbol.asyncIterator]();
  }

  /** The next n bytes (a copy), or fewer at the end of the stream. */
  async take(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      if (this.#piece.length === 0) {
        const r = await this.#it.next();
        if (r.done) return out.subarray(0, filled);
        this.#piece = r.value;
      }
      const k = Math.min(n - filled, this.#piece.length);
      out.set(this.#piece.subarray(0, k), filled);
      this.#piece = this.#piece.subarray(k);
      filled += k;
    }
    return out;
  }

  /** Reads the stream to its end, discarding it; an error of the stream (a failed hash check) is thrown. */
  async drain(): Promise<void> {
    for await (const _ of this.rest()) { /* discarded */ }
  }

  /** The rest of the stream, as it arrives (views, not copies). */
  async *rest(): AsyncGenerator<Uint8Array> {
    const held = this.#piece;
    this.#piece = new Uint8Array(0);
    if (held.length > 0) yield held;
    for (let r = await this.#it.next(); !r.done; r = await this.#it.next()) yield r.value;
  }
}

const truncated = (): never => { throw new Error('not a valid built-in model state: header runs past the end'); };

/** Whether the tensors lie one after another from the start of the data section, as encodeState writes them. */
function isPacked(header: StateHeader): boolean {
  let offset = 0;
  return header.tensors.every((t) => {
    const ok = t.offset === offset;
    offset += tensorSize(t.shape) * 4;
    return ok;
  });
}

/** Refuses a state that cannot be averaged with the first one (the checks of averageStates / averageClassStates). */
function expectCompatible(header: StateHeader, first: StateHeader): void {
  expectModel(header, first.model, first.arch);
  const classes = header.labelClasses;
  if (classes.length !== first.labelClasses.length || !first.labelClasses.every((id) => classes.includes(id))) {
    throw new Error('model states have different label classes');
  }
}

function expectSameTensors(header: StateHeader, first: StateHeader): void {
  const [a, b] = [header.tensors, first.tensors];
  if (a.length !== b.length || a.some((t, i) => t.name !== b[i]!.name || t.shape.join() !== b[i]!.shape.join())) {
    throw new Error('model states have different tensors');
  }
}

/** The running average: the first state's header (the reference) and the sum. */
interface Running {
  first: StateHeader;
  sum: WeightedSum;
}

/** Reads one state from `reader` and adds it: checks its header, then its floats as they arrive. */
async function addState(reader: ByteReader, running: Running | undefined, weight: number, scale: number, opts: StreamAverageOptions): Promise<Running> {
  const prefix = await reader.take(PREFIX_BYTES);
  const headerLength = parseStatePrefix(prefix);
  if (headerLength > MAX_HEADER_BYTES) throw new Error(`not a valid built-in model state: a header of ${headerLength} bytes`);
  const json = await reader.take(headerLength);
  if (json.length < headerLength) truncated();
  const header = parseStateHeader(json);
  opts.check(header);
  const { first, sum } = running ?? { first: header, sum: new WeightedSum(header.tensors.reduce((n, t) => n + tensorSize(t.shape), 0)) };
  expectCompatible(header, first);
  sum.begin(weight, scale);
  if (header.labelClasses.join() === first.labelClasses.join() && isPacked(header)) {
    expectSameTensors(header, first);
    await reader.take(dataStart(headerLength) - PREFIX_BYTES - headerLength); // padding
    // Read to the end (the stream's hash check comes with its last piece); bytes past the tensors are not data.
    for await (const piece of reader.rest()) sum.add(piece.subarray(0, Math.min(piece.length, sum.remainingBytes)));
    if (sum.remainingBytes > 0) throw new Error('not a valid built-in model state: its tensors run past the end');
  } else {
    const pieces: Uint8Array[] = [prefix, json];
    for await (const piece of reader.rest()) pieces.push(piece);
    const encoded = encodeState(withClasses(decodeState(Buffer.concat(pieces)), first.labelClasses, opts.head));
    expectSameTensors(parseStateHeader(encoded.subarray(PREFIX_BYTES, PREFIX_BYTES + parseStatePrefix(encoded))), first);
    sum.add(encoded.subarray(encoded.length - sum.floats * 4));
  }
  return { first, sum };
}

/**
 * The weighted average of the streamed states as consecutive byte pieces (the
 * encoded state: header, then the accumulator's data section). Each state's
 * bytes are read to their end, also when it is refused, so that a state
 * corrupted in flight fails as such (its stream's error, DATA_LOSS, wins);
 * after any error nothing is returned.
 */
export async function averageStateStreams(states: AsyncIterable<Pick<StateStream, 'weight' | 'bytes' | 'count'>>, opts: StreamAverageOptions): Promise<Uint8Array[]> {
  let running: Running | undefined;
  let total = 0;
  let count = 0;
  let last = false;
  for await (const { weight, bytes, count: of } of states) {
    opts.signal?.throwIfAborted();
    const reader = new ByteReader(bytes);
    try {
      if (!(weight >= 0) || !Number.isFinite(weight)) throw new Error(NOT_ALL_ZERO);
      if (++count > of) throw new Error(`more than the announced ${of} states`);
      total += weight;
      last = count === of;
      if (last && total === 0) throw new Error(NOT_ALL_ZERO);
      running = await addState(reader, running, weight, last ? 1 / total : 1, opts);
    } catch (err) {
      await reader.drain(); // a state refused for a header corrupted in flight fails as DATA_LOSS
      throw err;
    }
    opts.added?.(count, of);
  }
  if (!running) throw new Error('no model states to average');
  if (!last) throw new Error(`the states ended after ${count} of the announced ones`);
  const { tensors, ...rest } = running.first;
  return [encodeStatePrefix({ ...rest, stats: { images: total } }, tensors), running.sum.data()];
}

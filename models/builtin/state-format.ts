/**
 * The binary layout of every built-in model's state (what train() returns and
 * the worker stores). Plain data only: loading never runs code.
 *
 *   offset 0   8 bytes   magic "AIDEMDL\0"
 *   offset 8   uint32 LE format version (FORMAT_VERSION)
 *   offset 12  uint32 LE header length H
 *   offset 16  H bytes   UTF-8 JSON header (StateHeader)
 *   then zero padding to a multiple of 4, then the data section: each
 *   tensor's values as little-endian float32, at header.tensors[i].offset
 *   (bytes from the start of the data section), row-major.
 *
 * A reader refuses other magic, a newer version, tensors out of bounds, and
 * (via expectModel) a state of another model or architecture.
 */
import { createHash } from 'node:crypto';

export const MAGIC = 'AIDEMDL\0';
export const FORMAT_VERSION = 1;

export interface TensorSpec {
  name: string;
  shape: number[];
}

export interface NamedTensor extends TensorSpec {
  data: Float32Array;
}

export interface StateHeader {
  /** The registry key of the model that wrote it. */
  model: string;
  /** Everything that shapes the network (input size, width, depth, classes, …). */
  arch: Record<string, number | string>;
  tensors: (TensorSpec & { dtype: 'float32'; offset: number })[];
  /** Label-class ids, in output order: logit k belongs to labelClasses[k]. */
  labelClasses: string[];
  /** Hash of the options the state was trained with (optionsHash()). */
  optionsHash: string;
  /** Training statistics of the round that wrote it. */
  stats?: Record<string, number>;
}

export interface ModelState {
  header: Omit<StateHeader, 'tensors'>;
  tensors: NamedTensor[];
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const align4 = (n: number) => (n + 3) & ~3;

export function encodeState({ header, tensors }: ModelState): Uint8Array {
  let offset = 0;
  const specs = tensors.map(({ name, shape, data }) => {
    if (data.length !== size(shape)) throw new Error(`tensor ${name}: ${data.length} values for shape [${shape}]`);
    const spec = { name, shape, dtype: 'float32' as const, offset };
    offset += data.length * 4;
    return spec;
  });
  const json = new TextEncoder().encode(JSON.stringify({ ...header, tensors: specs } satisfies StateHeader));
  const dataStart = align4(16 + json.length);
  const bytes = new Uint8Array(dataStart + offset);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, json.length, true);
  bytes.set(json, 16);
  tensors.forEach(({ data }, t) => {
    const base = dataStart + specs[t]!.offset;
    for (let i = 0; i < data.length; i++) view.setFloat32(base + 4 * i, data[i]!, true);
  });
  return bytes;
}

export function decodeState(bytes: Uint8Array): ModelState {
  const fail = (why: string): never => { throw new Error(`not a valid built-in model state: ${why}`); };
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) fail('wrong magic bytes');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version > FORMAT_VERSION) fail(`format version ${version} is newer than this reader's ${FORMAT_VERSION}`);
  const headerLength = view.getUint32(12, true);
  if (16 + headerLength > bytes.length) fail('header runs past the end');
  let header: StateHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLength))) as StateHeader;
  } catch {
    return fail('header is not JSON');
  }
  if (typeof header.model !== 'string' || !Array.isArray(header.tensors) || !Array.isArray(header.labelClasses)) fail('header lacks model, tensors or labelClasses');
  const dataStart = align4(16 + headerLength);
  const tensors = header.tensors.map(({ name, shape, dtype, offset }) => {
    if (dtype !== 'float32' || !Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor ${name} has a bad spec`);
    const count = size(shape);
    const base = dataStart + offset;
    if (!Number.isInteger(offset) || offset < 0 || base + 4 * count > bytes.length) fail(`tensor ${name} runs past the end`);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(base + 4 * i, true);
    return { name, shape, data };
  });
  const { tensors: _specs, ...rest } = header;
  return { header: rest, tensors };
}

/**
 * Throws a clear error unless the state was written by `model` with the
 * given architecture (every key of `arch` equal).
 */
export function expectModel(state: ModelState, model: string, arch?: Record<string, number | string>): void {
  if (state.header.model !== model) throw new Error(`model state is from '${state.header.model}', not '${model}'`);
  const differences = Object.entries(arch ?? {})
    .filter(([key, value]) => state.header.arch[key] !== value)
    .map(([key, value]) => `${key} ${JSON.stringify(state.header.arch[key])} ≠ ${JSON.stringify(value)}`);
  if (differences.length > 0) throw new Error(`model state has another architecture: ${differences.join(', ')}`);
}

/**
 * A state of `model` whose tensors are exactly those its architecture has
 * (`specsOf(arch)`, by name and shape, in order); throws a clear error otherwise.
 */
export function decodeModelState(bytes: Uint8Array, model: string, specsOf: (arch: ModelState['header']['arch']) => readonly TensorSpec[]): ModelState {
  const state = decodeState(bytes);
  expectModel(state, model);
  const expected = specsOf(state.header.arch);
  const mismatch = expected.length !== state.tensors.length || expected.some((s, i) => s.name !== state.tensors[i]!.name || s.shape.join() !== state.tensors[i]!.shape.join());
  if (mismatch) throw new Error('model state tensors do not match its architecture');
  return state;
}

/** A short stable hash of options (key order does not matter). */
export function optionsHash(options: unknown): string {
  const canonical = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, canonical(x)]))
      : Array.isArray(v) ? v.map(canonical) : v;
  return createHash('sha256').update(JSON.stringify(canonical(options))).digest('hex').slice(0, 16);
}

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
 * (via expectModel) a state of another model or architecture. readStateHeader
 * checks a state from its first bytes alone, for models' verifyState.
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

const fail = (why: string): never => { throw new Error(`not a valid built-in model state: ${why}`); };

/** The JSON header of `bytes` (a whole state, or the first bytes of one of `total` bytes) and where the data section starts. */
function parseHeader(bytes: Uint8Array, total = bytes.length): { header: StateHeader; dataStart: number } {
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) fail('wrong magic bytes');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version > FORMAT_VERSION) fail(`format version ${version} is newer than this reader's ${FORMAT_VERSION}`);
  const headerLength = view.getUint32(12, true);
  if (16 + headerLength > total) fail('header runs past the end');
  if (16 + headerLength > bytes.length) fail(`header of ${headerLength} bytes is longer than the ${bytes.length} bytes that can be checked`);
  let header: StateHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + headerLength))) as StateHeader;
  } catch {
    return fail('header is not JSON');
  }
  if (typeof header !== 'object' || header === null || typeof header.model !== 'string' || !Array.isArray(header.tensors) || !Array.isArray(header.labelClasses)) {
    fail('header lacks model, tensors or labelClasses');
  }
  if (typeof header.arch !== 'object' || header.arch === null) fail('header lacks arch');
  for (const spec of header.tensors) {
    if (typeof spec !== 'object' || spec === null) fail('header lists a tensor that is not an object');
    const { name, shape, dtype } = spec;
    if (dtype !== 'float32' || !Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor ${name} has a bad spec`);
  }
  return { header, dataStart: align4(16 + headerLength) };
}

export function decodeState(bytes: Uint8Array): ModelState {
  const { header, dataStart } = parseHeader(bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors = header.tensors.map(({ name, shape, offset }) => {
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
 * The header of a state of `size` bytes from its first bytes (`head`), with
 * every check the data are not needed for: those of decodeState, and the
 * tensors laid out back to back (as encodeState writes them) to exactly the
 * end of the state.
 */
export function readStateHeader(head: Uint8Array, stateSize: number): StateHeader {
  const { header, dataStart } = parseHeader(head.subarray(0, stateSize), stateSize);
  let end = 0;
  for (const { name, shape, offset } of header.tensors) {
    if (offset !== end) fail(`tensor ${name} at offset ${offset}, expected ${end}`);
    end += 4 * size(shape);
  }
  if (dataStart + end !== stateSize) fail(`its header describes ${dataStart + end} bytes, the state has ${stateSize}`);
  return header;
}

/**
 * Throws a clear error unless the state was written by `model` with the
 * given architecture (every key of `arch` equal).
 */
export function expectModel(header: Pick<StateHeader, 'model' | 'arch'>, model: string, arch?: Record<string, number | string>): void {
  if (header.model !== model) throw new Error(`model state is from '${header.model}', not '${model}'`);
  const differences = Object.entries(arch ?? {})
    .filter(([key, value]) => header.arch[key] !== value)
    .map(([key, value]) => `${key} ${JSON.stringify(header.arch[key])} ≠ ${JSON.stringify(value)}`);
  if (differences.length > 0) throw new Error(`model state has another architecture: ${differences.join(', ')}`);
}

/** A short stable hash of options (key order does not matter). */
export function optionsHash(options: unknown): string {
  const canonical = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, canonical(x)]))
      : Array.isArray(v) ? v.map(canonical) : v;
  return createHash('sha256').update(JSON.stringify(canonical(options))).digest('hex').slice(0, 16);
}

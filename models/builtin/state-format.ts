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

export const tensorSize = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const align4 = (n: number) => (n + 3) & ~3;

/** Bytes of magic, version and header length before the JSON header. */
export const PREFIX_BYTES = 16;

/**
 * Everything before the data section (prefix, JSON header, padding) of a state
 * whose tensors lie one after another in the given order, as encodeState writes
 * them: the data section follows directly.
 */
export function encodeStatePrefix(header: ModelState['header'], tensors: readonly TensorSpec[]): Uint8Array {
  let offset = 0;
  const specs = tensors.map(({ name, shape }) => {
    const spec = { name, shape, dtype: 'float32' as const, offset };
    offset += tensorSize(shape) * 4;
    return spec;
  });
  const json = new TextEncoder().encode(JSON.stringify({ ...header, tensors: specs } satisfies StateHeader));
  const bytes = new Uint8Array(align4(PREFIX_BYTES + json.length));
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, json.length, true);
  bytes.set(json, PREFIX_BYTES);
  return bytes;
}

export function encodeState({ header, tensors }: ModelState): Uint8Array {
  for (const { name, shape, data } of tensors) {
    if (data.length !== tensorSize(shape)) throw new Error(`tensor ${name}: ${data.length} values for shape [${shape}]`);
  }
  const prefix = encodeStatePrefix(header, tensors);
  const bytes = new Uint8Array(prefix.length + tensors.reduce((n, t) => n + t.data.length * 4, 0));
  bytes.set(prefix);
  const view = new DataView(bytes.buffer);
  let base = prefix.length;
  for (const { data } of tensors) {
    for (let i = 0; i < data.length; i++) view.setFloat32(base + 4 * i, data[i]!, true);
    base += data.length * 4;
  }
  return bytes;
}

const invalid = (why: string): never => { throw new Error(`not a valid built-in model state: ${why}`); };

/** The JSON header's length, from a state's first PREFIX_BYTES bytes (magic and version checked). */
export function parseStatePrefix(bytes: Uint8Array): number {
  if (bytes.length < PREFIX_BYTES || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) invalid('wrong magic bytes');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version > FORMAT_VERSION) invalid(`format version ${version} is newer than this reader's ${FORMAT_VERSION}`);
  return view.getUint32(12, true);
}

/** The header from its JSON bytes, its fields and tensor specs checked (not their bounds: see dataStart). */
export function parseStateHeader(json: Uint8Array): StateHeader {
  let header: StateHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(json)) as StateHeader;
  } catch {
    return invalid('header is not JSON');
  }
  if (typeof header !== 'object' || header === null || typeof header.model !== 'string' || !Array.isArray(header.tensors) || !Array.isArray(header.labelClasses)) {
    invalid('header lacks model, tensors or labelClasses');
  }
  if (typeof header.arch !== 'object' || header.arch === null) invalid('header lacks arch');
  for (const spec of header.tensors) {
    if (typeof spec !== 'object' || spec === null) invalid('header lists a tensor that is not an object');
    const { name, shape, dtype, offset } = spec;
    if (dtype !== 'float32' || !Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) invalid(`tensor ${name} has a bad spec`);
    if (!Number.isInteger(offset) || offset < 0) invalid(`tensor ${name} runs past the end`);
  }
  return header;
}

/** Where the data section starts in a state whose JSON header has `headerLength` bytes. */
export const dataStart = (headerLength: number) => align4(PREFIX_BYTES + headerLength);

export function decodeState(bytes: Uint8Array): ModelState {
  const headerLength = parseStatePrefix(bytes);
  if (PREFIX_BYTES + headerLength > bytes.length) invalid('header runs past the end');
  const header = parseStateHeader(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength));
  const start = dataStart(headerLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors = header.tensors.map(({ name, shape, offset }) => {
    const count = tensorSize(shape);
    const base = start + offset;
    if (base + 4 * count > bytes.length) invalid(`tensor ${name} runs past the end`);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(base + 4 * i, true);
    return { name, shape, data };
  });
  const { tensors: _specs, ...rest } = header;
  return { header: rest, tensors };
}

/**
 * The header of a state of `stateSize` bytes from its first bytes (`head`),
 * with every check the data are not needed for: those of decodeState, and the
 * tensors laid out back to back (as encodeState writes them) to exactly the
 * end of the state.
 */
export function readStateHeader(head: Uint8Array, stateSize: number): StateHeader {
  const bytes = head.subarray(0, stateSize);
  const headerLength = parseStatePrefix(bytes);
  if (PREFIX_BYTES + headerLength > stateSize) invalid('header runs past the end');
  if (PREFIX_BYTES + headerLength > bytes.length) invalid(`header of ${headerLength} bytes is longer than the ${bytes.length} bytes that can be checked`);
  const header = parseStateHeader(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength));
  let end = 0;
  for (const { name, shape, offset } of header.tensors) {
    if (offset !== end) invalid(`tensor ${name} at offset ${offset}, expected ${end}`);
    end += 4 * tensorSize(shape);
  }
  if (dataStart(headerLength) + end !== stateSize) invalid(`its header describes ${dataStart(headerLength) + end} bytes, the state has ${stateSize}`);
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

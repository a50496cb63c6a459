/**
 * An ONNX model state: "AIDEONNX", the header's length (uint32 LE), the
 * header (JSON: manifest, the graph's length and SHA-256, a trained head's
 * tensors), the ONNX graph laid out with its signature first
 * (onnx-graph.ts headFirstLayout), then a trained head's float32 values (LE).
 * The header and the graph's signature come first so that an import is
 * verified from the state's first bytes (verifyOnnxState).
 */
import { createHash } from 'node:crypto';
import { parseManifest, type Manifest } from './manifest.js';
import { headFirstLayout } from './onnx-graph.js';

const MAGIC = new TextEncoder().encode('AIDEONNX');
const PREFIX = MAGIC.length + 4;
/** Header lengths beyond this are not a header. */
const MAX_HEADER = 1 << 20;

export interface TensorSpec {
  name: string;
  shape: number[];
}

/** A head trained on the graph's embeddings (backbone states): one output per project label class. */
export interface HeadHeader {
  /** Label-class ids in output order. */
  classes: string[];
  tensors: TensorSpec[];
  stats?: Record<string, number>;
}

export interface OnnxStateHeader {
  format: 'aide-onnx/1';
  manifest: Manifest;
  onnxBytes: number;
  onnxSha256: string;
  head?: HeadHeader;
}

export interface OnnxState {
  header: OnnxStateHeader;
  /** A view of the state's bytes. */
  onnx: Uint8Array;
  head: Float32Array[];
}

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Bytes of a head's values. */
export const headBytes = (head: HeadHeader | undefined): number =>
  (head?.tensors ?? []).reduce((n, t) => n + 4 * count(t.shape), 0);

const sha256 = (pieces: readonly Uint8Array[]) => {
  const hash = createHash('sha256');
  for (const p of pieces) hash.update(p);
  return hash.digest('hex');
};

function headerPiece(header: OnnxStateHeader): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(PREFIX + json.length);
  out.set(MAGIC);
  new DataView(out.buffer).setUint32(MAGIC.length, json.length, true);
  out.set(json, PREFIX);
  return out;
}

function floatPieces(tensors: readonly Float32Array[]): Uint8Array[] {
  return tensors.map((t) => {
    const out = new Uint8Array(t.length * 4);
    const view = new DataView(out.buffer);
    t.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return out;
  });
}

/**
 * A state of the ONNX model `onnx` described by `manifest` (parsed JSON),
 * as consecutive pieces; throws where the manifest is invalid or the bytes
 * are no ONNX model. The graph is laid out signature first.
 */
export function packOnnxState(onnx: Uint8Array, manifest: unknown): Uint8Array[] {
  const graph = headFirstLayout(onnx);
  const header: OnnxStateHeader = { format: 'aide-onnx/1', manifest: parseManifest(manifest), onnxBytes: onnx.length, onnxSha256: sha256(graph) };
  return [headerPiece(header), ...graph];
}

/** The state with another head (or none): the same graph, a new header. */
export function withHead(state: OnnxState, head: HeadHeader | undefined, tensors: readonly Float32Array[]): Uint8Array[] {
  return [headerPiece({ ...state.header, head }), state.onnx, ...floatPieces(tensors)];
}

/**
 * The header from a state's first bytes; throws where they cannot begin a
 * state of `size` bytes (another format, a bad manifest, lengths that do not
 * add up to `size`).
 */
export function readOnnxHeader(head: Uint8Array, size: number): { header: OnnxStateHeader; onnxOffset: number } {
  if (head.length < PREFIX || !MAGIC.every((b, i) => head[i] === b)) throw new Error('not an ONNX model state (no AIDEONNX header): pack an .onnx file with its manifest (aide states import --onnx-manifest)');
  const length = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(MAGIC.length, true);
  if (length > MAX_HEADER || PREFIX + length > head.length) throw new Error(`ONNX state header of ${length} bytes does not fit the state's first ${head.length} bytes`);
  let raw: Partial<OnnxStateHeader>;
  try {
    raw = JSON.parse(new TextDecoder().decode(head.subarray(PREFIX, PREFIX + length))) as Partial<OnnxStateHeader>;
  } catch (err) {
    throw new Error(`ONNX state header is not JSON: ${(err as Error).message}`);
  }
  if (raw.format !== 'aide-onnx/1') throw new Error(`ONNX state format '${String(raw.format)}' is not aide-onnx/1`);
  const manifest = parseManifest(raw.manifest);
  const onnxBytes = raw.onnxBytes;
  if (!Number.isSafeInteger(onnxBytes) || onnxBytes! < 1) throw new Error('ONNX state header has no valid onnxBytes');
  if (typeof raw.onnxSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(raw.onnxSha256)) throw new Error('ONNX state header has no valid onnxSha256');
  const header: OnnxStateHeader = { format: 'aide-onnx/1', manifest, onnxBytes: onnxBytes!, onnxSha256: raw.onnxSha256, ...(raw.head ? { head: checkHead(raw.head) } : {}) };
  const expected = PREFIX + length + header.onnxBytes + headBytes(header.head);
  if (expected !== size) throw new Error(`ONNX state of ${size} bytes, its header accounts for ${expected}`);
  return { header, onnxOffset: PREFIX + length };
}

function checkHead(head: HeadHeader): HeadHeader {
  const ok = Array.isArray(head.classes) && head.classes.every((c) => typeof c === 'string')
    && Array.isArray(head.tensors) && head.tensors.every((t) => typeof t.name === 'string' && Array.isArray(t.shape) && t.shape.every((d) => Number.isSafeInteger(d) && d > 0));
  if (!ok) throw new Error('ONNX state header has a malformed head');
  return head;
}

/** A whole state: header, graph (checked against its SHA-256), head values. */
export function decodeOnnxState(bytes: Uint8Array): OnnxState {
  const { header, onnxOffset } = readOnnxHeader(bytes, bytes.length);
  const onnx = bytes.subarray(onnxOffset, onnxOffset + header.onnxBytes);
  if (sha256([onnx]) !== header.onnxSha256) throw new Error('the ONNX graph in the state does not match its SHA-256');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = onnxOffset + header.onnxBytes;
  const head = (header.head?.tensors ?? []).map(({ shape }) => {
    const values = new Float32Array(count(shape));
    for (let i = 0; i < values.length; i++, offset += 4) values[i] = view.getFloat32(offset, true);
    return values;
  });
  return { header, onnx, head };
}

export const concat = (pieces: readonly Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

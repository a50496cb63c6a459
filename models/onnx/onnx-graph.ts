/**
 * Just enough of the ONNX protobuf (onnx.proto: ModelProto → GraphProto →
 * ValueInfoProto) to read a graph's signature — its inputs and outputs with
 * element types and shapes — from the model's first bytes, and to lay a model
 * out so that those come first.
 *
 * Why: the controller verifies an imported state from its first 4 MiB
 * (STATE_HEAD_BYTES), but exporters write a graph's inputs and outputs (fields
 * 11, 12) after its weights (field 5), i.e. at the end of a file of hundreds
 * of megabytes. Protobuf parsers accept fields in any order, so packing a
 * state moves the graph's nodes, inputs and outputs before its weights
 * (headFirstLayout): same model, and its signature readable from the head.
 */

/** Wire types of protobuf fields. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** ModelProto.graph, GraphProto.initializer / sparse_initializer / input / output, ValueInfoProto.name / type, … */
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const GRAPH_SPARSE_INITIALIZER = 15;
const GRAPH_INPUT = 11;
const GRAPH_OUTPUT = 12;

/** TensorProto.DataType → the element type ONNX Runtime names. */
const ELEMENT_TYPES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'float64',
};

/** A graph input or output: a dimension is a size, or a name (symbolic: any size), as ONNX Runtime reports it. */
export interface ValueSignature {
  name: string;
  type: string;
  shape: (number | string)[];
}

export interface GraphSignature {
  inputs: ValueSignature[];
  outputs: ValueSignature[];
}

/** One field of a message: number, wire type, where it starts and where its value lies (bytes). */
interface Field {
  no: number;
  wireType: number;
  start: number;
  valueStart: number;
  end: number;
}

class Truncated extends Error {}

function varint(bytes: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= bytes.length) throw new Truncated('varint runs past the end');
    if (shift > 63) throw new Error('malformed protobuf: varint longer than 10 bytes');
    const b = bytes[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, pos];
  }
}

/**
 * The fields of a message in bytes[from, to), in order. A field cut off by
 * `to` ends the list when `partial` (a head of the model), else throws.
 */
function fields(bytes: Uint8Array, from = 0, to = bytes.length, partial = false): Field[] {
  const out: Field[] = [];
  let pos = from;
  try {
    while (pos < to) {
      const start = pos;
      const [key, afterKey] = varint(bytes, pos);
      const no = Math.floor(key / 8);
      const wireType = key & 7;
      if (no === 0) throw new Error('malformed protobuf: field number 0');
      let valueStart = afterKey;
      let end: number;
      switch (wireType) {
        case VARINT: end = varint(bytes, afterKey)[1]; break;
        case FIXED64: end = afterKey + 8; break;
        case FIXED32: end = afterKey + 4; break;
        case LENGTH_DELIMITED: {
          const [length, afterLength] = varint(bytes, afterKey);
          valueStart = afterLength;
          end = afterLength + length;
          break;
        }
        default: throw new Error(`malformed protobuf: wire type ${wireType} of field ${no}`);
      }
      if (end > bytes.length && partial) break;
      if (end > to) throw new Error(`malformed protobuf: field ${no} runs past its message`);
      out.push({ no, wireType, start, valueStart, end });
      pos = end;
    }
  } catch (err) {
    if (!(err instanceof Truncated && partial)) throw err instanceof Truncated ? new Error('malformed protobuf: cut off') : err;
  }
  return out;
}

const text = (bytes: Uint8Array, f: Field) => new TextDecoder().decode(bytes.subarray(f.valueStart, f.end));
const child = (bytes: Uint8Array, f: Field) => fields(bytes, f.valueStart, f.end);

/** ValueInfoProto { name = 1; type = 2 (TypeProto { tensor_type = 1 { elem_type = 1; shape = 2 { dim = 1 { dim_value = 1 | dim_param = 2 } } } }) }. */
function valueInfo(bytes: Uint8Array, f: Field): ValueSignature {
  const sig: ValueSignature = { name: '', type: 'non-tensor', shape: [] };
  for (const g of child(bytes, f)) {
    if (g.no === 1 && g.wireType === LENGTH_DELIMITED) sig.name = text(bytes, g);
    if (g.no !== 2 || g.wireType !== LENGTH_DELIMITED) continue;
    for (const t of child(bytes, g)) {
      if (t.no !== 1 || t.wireType !== LENGTH_DELIMITED) continue;
      for (const tt of child(bytes, t)) {
        if (tt.no === 1 && tt.wireType === VARINT) sig.type = ELEMENT_TYPES[varint(bytes, tt.valueStart)[0]] ?? `onnx type ${varint(bytes, tt.valueStart)[0]}`;
        if (tt.no !== 2 || tt.wireType !== LENGTH_DELIMITED) continue;
        for (const dim of child(bytes, tt)) {
          if (dim.no !== 1) continue;
          let size: number | string = '?';
          for (const d of child(bytes, dim)) {
            if (d.no === 1 && d.wireType === VARINT) size = varint(bytes, d.valueStart)[0];
            if (d.no === 2 && d.wireType === LENGTH_DELIMITED) size = text(bytes, d);
          }
          sig.shape.push(size);
        }
      }
    }
  }
  return sig;
}

/** The model's graph field, whole or (partial) as far as `bytes` go. */
function graphField(bytes: Uint8Array, partial: boolean): Field {
  const graph = fields(bytes, 0, bytes.length, partial).find((f) => f.no === MODEL_GRAPH && f.wireType === LENGTH_DELIMITED);
  if (graph) return graph;
  if (!partial) throw new Error('not an ONNX model: no graph');
  // The graph field may be the one cut off: it starts where the complete fields end.
  const complete = fields(bytes, 0, bytes.length, true);
  const pos = complete.at(-1)?.end ?? 0;
  const [key, afterKey] = varint(bytes, pos);
  if (key === MODEL_GRAPH * 8 + LENGTH_DELIMITED) {
    const [length, valueStart] = varint(bytes, afterKey);
    return { no: MODEL_GRAPH, wireType: LENGTH_DELIMITED, start: pos, valueStart, end: valueStart + length };
  }
  // Another field is cut off: the graph may follow it.
  throw new Truncated('the graph does not begin within the first bytes');
}

/**
 * The graph's inputs and outputs (initializers, which old exporters also list
 * as inputs, left out). `bytes` is the model whole, or its first bytes when
 * `partial`: then undefined if its inputs and outputs do not all lie there
 * (the outputs are taken to be complete once a later field follows them).
 */
export function graphSignature(bytes: Uint8Array, partial = false): GraphSignature | undefined {
  try {
    const graph = graphField(bytes, partial);
    const within = fields(bytes, graph.valueStart, graph.end, partial);
    const initializers = new Set(within.filter((f) => f.no === GRAPH_INITIALIZER).map((f) => {
      const name = child(bytes, f).find((t) => t.no === 8 && t.wireType === LENGTH_DELIMITED);
      return name ? text(bytes, name) : '';
    }));
    const complete = !partial || graph.end <= bytes.length;
    const lastOutput = within.findLastIndex((f) => f.no === GRAPH_OUTPUT);
    if (!complete && (lastOutput < 0 || lastOutput === within.length - 1 || !within.some((f) => f.no === GRAPH_INPUT))) return undefined;
    return {
      inputs: within.filter((f) => f.no === GRAPH_INPUT).map((f) => valueInfo(bytes, f)).filter((v) => !initializers.has(v.name)),
      outputs: within.filter((f) => f.no === GRAPH_OUTPUT).map((f) => valueInfo(bytes, f)),
    };
  } catch (err) {
    if (err instanceof Truncated && partial) return undefined;
    throw err;
  }
}

/**
 * The same model with its graph's weights last, as consecutive pieces (views
 * of `model`, nothing copied): the model's other fields, then the graph with
 * its nodes, inputs and outputs before its initializers. Throws where `model`
 * is no protobuf message with a graph.
 */
export function headFirstLayout(model: Uint8Array): Uint8Array[] {
  const top = fields(model);
  const graph = top.find((f) => f.no === MODEL_GRAPH && f.wireType === LENGTH_DELIMITED);
  if (!graph) throw new Error('not an ONNX model: no graph');
  const within = child(model, graph);
  const weights = (f: Field) => f.no === GRAPH_INITIALIZER || f.no === GRAPH_SPARSE_INITIALIZER;
  const slice = (f: Field) => model.subarray(f.start, f.end);
  return [
    ...top.filter((f) => f !== graph).map(slice),
    // The graph's key and length: its fields are reordered, not changed.
    model.subarray(graph.start, graph.valueStart),
    ...within.filter((f) => !weights(f)).map(slice),
    ...within.filter(weights).map(slice),
  ];
}

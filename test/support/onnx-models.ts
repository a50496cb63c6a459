/**
 * Small ONNX models written by hand as protobuf (onnx.proto, opset 13), so
 * that tests need no Python: a grid "detector" that finds bright squares, a
 * colour classifier and a colour feature extractor. Weights (initializers)
 * come before the graph's inputs and outputs, as exporters write them.
 */
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

interface Tensor {
  name: string;
  dims: number[];
  /** float32 values, or int64 ones with `int64`. */
  values: readonly number[];
  int64?: boolean;
}

type Attribute = { name: string; ints: number[] } | { name: string; int: number };

interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Attribute[];
}

interface Value {
  name: string;
  shape: (number | string)[];
  /** TensorProto.DataType; 1 = float32. */
  elemType?: number;
}

export interface GraphSpec {
  nodes: Node[];
  initializers: Tensor[];
  inputs: Value[];
  outputs: Value[];
}

const message = (w: BinaryWriter, no: number, body: (w: BinaryWriter) => void) => {
  w.tag(no, WireType.LengthDelimited).fork();
  body(w);
  w.join();
};

function tensor(w: BinaryWriter, t: Tensor) {
  for (const d of t.dims) w.tag(1, WireType.Varint).int64(d);
  w.tag(2, WireType.Varint).int32(t.int64 ? 7 : 1);
  w.tag(8, WireType.LengthDelimited).string(t.name);
  const raw = new Uint8Array(t.values.length * (t.int64 ? 8 : 4));
  const view = new DataView(raw.buffer);
  t.values.forEach((v, i) => (t.int64 ? view.setBigInt64(i * 8, BigInt(v), true) : view.setFloat32(i * 4, v, true)));
  w.tag(9, WireType.LengthDelimited).bytes(raw);
}

function value(w: BinaryWriter, v: Value) {
  w.tag(1, WireType.LengthDelimited).string(v.name);
  message(w, 2, (type) => message(type, 1, (t) => {
    t.tag(1, WireType.Varint).int32(v.elemType ?? 1);
    message(t, 2, (shape) => {
      for (const d of v.shape) {
        message(shape, 1, (dim) => (typeof d === 'number' ? dim.tag(1, WireType.Varint).int64(d) : dim.tag(2, WireType.LengthDelimited).string(d)));
      }
    });
  }));
}

/** A serialized ONNX model (IR 8, opset 13) of the graph. */
export function onnxModel(g: GraphSpec): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.Varint).int64(8);
  w.tag(2, WireType.LengthDelimited).string('aide-test');
  message(w, 7, (graph) => {
    for (const n of g.nodes) {
      message(graph, 1, (node) => {
        for (const i of n.inputs) node.tag(1, WireType.LengthDelimited).string(i);
        for (const o of n.outputs) node.tag(2, WireType.LengthDelimited).string(o);
        node.tag(4, WireType.LengthDelimited).string(n.op);
        for (const a of n.attributes ?? []) {
          message(node, 5, (attr) => {
            attr.tag(1, WireType.LengthDelimited).string(a.name);
            if ('ints' in a) {
              for (const v of a.ints) attr.tag(8, WireType.Varint).int64(v);
              attr.tag(20, WireType.Varint).int32(7);
            } else {
              attr.tag(3, WireType.Varint).int64(a.int);
              attr.tag(20, WireType.Varint).int32(2);
            }
          });
        }
      });
    }
    graph.tag(2, WireType.LengthDelimited).string('test');
    for (const t of g.initializers) message(graph, 5, (x) => tensor(x, t));
    for (const v of g.inputs) message(graph, 11, (x) => value(x, v));
    for (const v of g.outputs) message(graph, 12, (x) => value(x, v));
  });
  message(w, 8, (opset) => opset.tag(2, WireType.Varint).int64(13));
  return w.finish();
}

export interface GridDetectorSpec {
  /** Input side (pixels). */
  size: number;
  /** Side of a grid cell (pixels); one box per cell, centred on it, as large as it. */
  cell: number;
  classes: number;
  layout: 'yolov5' | 'yolov8';
  /** Class of the cell in grid column `col`, row `row` (default 0). */
  classOf?: (col: number, row: number) => number;
}

/**
 * A detector of bright squares: each grid cell predicts a box of its own
 * size at its centre, scored by the cell's mean brightness (input scaled to
 * 0…1), classed by `classOf`; YOLOv5 rows [batch, N, 5 + C] or YOLOv8
 * columns [batch, 4 + C, N], box coordinates in input pixels.
 */
export function gridDetector({ size, cell, classes, layout, classOf = () => 0 }: GridDetectorSpec): Uint8Array {
  const g = size / cell;
  const n = g * g;
  const xywh: number[] = [];
  const cls: number[] = [];
  for (let row = 0; row < g; row++) {
    for (let col = 0; col < g; col++) {
      xywh.push((col + 0.5) * cell, (row + 0.5) * cell, cell, cell);
      for (let k = 0; k < classes; k++) cls.push(k === classOf(col, row) ? 1 : 0);
    }
  }
  const zeros = (name: string, k: number): Tensor => ({ name, dims: [1, 1, k], values: new Array(k).fill(0) });
  const nodes: Node[] = [
    { op: 'AveragePool', inputs: ['images'], outputs: ['pooled'], attributes: [{ name: 'kernel_shape', ints: [cell, cell] }, { name: 'strides', ints: [cell, cell] }] },
    { op: 'ReduceMean', inputs: ['pooled'], outputs: ['bright'], attributes: [{ name: 'axes', ints: [1] }, { name: 'keepdims', int: 1 }] },
    { op: 'Reshape', inputs: ['bright', 'rows'], outputs: ['obj'] },
    { op: 'Mul', inputs: ['obj', 'zeros4'], outputs: ['z4'] },
    { op: 'Add', inputs: ['z4', 'xywh'], outputs: ['boxes'] },
  ];
  const initializers: Tensor[] = [
    { name: 'rows', dims: [3], values: [0, n, 1], int64: true },
    zeros('zeros4', 4),
    { name: 'xywh', dims: [1, n, 4], values: xywh },
    { name: 'cls', dims: [1, n, classes], values: cls },
  ];
  if (layout === 'yolov5') {
    initializers.push(zeros('zerosC', classes));
    nodes.push(
      { op: 'Mul', inputs: ['obj', 'zerosC'], outputs: ['zC'] },
      { op: 'Add', inputs: ['zC', 'cls'], outputs: ['scores'] },
      { op: 'Concat', inputs: ['boxes', 'obj', 'scores'], outputs: ['output'], attributes: [{ name: 'axis', int: 2 }] },
    );
  } else {
    nodes.push(
      { op: 'Mul', inputs: ['obj', 'cls'], outputs: ['scores'] },
      { op: 'Concat', inputs: ['boxes', 'scores'], outputs: ['rowsOut'], attributes: [{ name: 'axis', int: 2 }] },
      { op: 'Transpose', inputs: ['rowsOut'], outputs: ['output'], attributes: [{ name: 'perm', ints: [0, 2, 1] }] },
    );
  }
  return onnxModel({
    nodes,
    initializers,
    inputs: [{ name: 'images', shape: ['batch', 3, size, size] }],
    outputs: [{ name: 'output', shape: layout === 'yolov5' ? ['batch', n, 5 + classes] : ['batch', 4 + classes, n] }],
  });
}

/**
 * Mean colour of the image (3 values, input scaled to 0…1) times `weights`
 * ([3, K], row-major): class logits of a colour classifier, or a colour
 * embedding for a trainable head.
 */
export function colourGraph(size: number, weights: readonly number[], output = 'output'): Uint8Array {
  const k = weights.length / 3;
  return onnxModel({
    nodes: [
      { op: 'GlobalAveragePool', inputs: ['images'], outputs: ['pooled'] },
      { op: 'Flatten', inputs: ['pooled'], outputs: ['colour'], attributes: [{ name: 'axis', int: 1 }] },
      { op: 'Gemm', inputs: ['colour', 'w', 'b'], outputs: [output] },
    ],
    initializers: [{ name: 'w', dims: [3, k], values: weights }, { name: 'b', dims: [k], values: new Array(k).fill(0) }],
    inputs: [{ name: 'images', shape: ['batch', 3, size, size] }],
    outputs: [{ name: output, shape: ['batch', k] }],
  });
}

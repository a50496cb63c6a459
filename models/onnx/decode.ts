/**
 * Network outputs → what they mean, for one image (or window): YOLO boxes
 * (v5 rows, v8 columns) relative to the input, suppressed across classes,
 * and class logits → probabilities.
 */
import { suppress } from '../builtin/detector/boxes.js';
import type { Manifest } from './manifest.js';

export interface Detection {
  /** Centre and size relative to the network input. */
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
  classIndex: number;
  /** Every class's score (YOLOv5: objectness × class score). */
  scores: number[];
}

export interface DetectionOptions {
  threshold: number;
  nmsIoU: number;
  maxObjects: number;
}

/** A box from centre and size in the output's units, clipped to the input; null when nothing is left. */
function clipped(m: Manifest, cx: number, cy: number, w: number, h: number): Pick<Detection, 'x' | 'y' | 'width' | 'height'> | null {
  const unit = m.output.boxUnits === 'pixels' ? m.input.size : 1;
  const [x0, x1] = [Math.max(0, (cx - w / 2) / unit), Math.min(1, (cx + w / 2) / unit)];
  const [y0, y1] = [Math.max(0, (cy - h / 2) / unit), Math.min(1, (cy + h / 2) / unit)];
  return x1 > x0 && y1 > y0 ? { x: (x0 + x1) / 2, y: (y0 + y1) / 2, width: x1 - x0, height: y1 - y0 } : null;
}

/**
 * The detections of one output ([N, 5 + C] for yolov5, [4 + C, N] for
 * yolov8, batch dimension removed) scoring at least the threshold,
 * strongest first, boxes overlapping a stronger one by more than nmsIoU
 * dropped (whatever their class: one box per object).
 */
export function decodeDetections(output: Float32Array, m: Manifest, o: DetectionOptions): Detection[] {
  const c = m.classes.length;
  const v5 = m.output.decoding === 'yolov5';
  const stride = v5 ? 5 + c : 4 + c;
  if (output.length % stride !== 0) throw new Error(`output of ${output.length} values is no whole number of ${m.output.decoding} boxes with ${c} classes`);
  const n = output.length / stride;
  // Value r of box i: rows (v5) or columns (v8).
  const at = v5 ? (i: number, r: number) => output[i * stride + r]! : (i: number, r: number) => output[r * n + i]!;
  const found: Detection[] = [];
  for (let i = 0; i < n; i++) {
    const objectness = v5 ? at(i, 4) : 1;
    if (objectness < o.threshold) continue;
    const first = v5 ? 5 : 4;
    let best = 0;
    for (let k = 1; k < c; k++) if (at(i, first + k) > at(i, first + best)) best = k;
    const score = objectness * at(i, first + best);
    if (score < o.threshold) continue;
    const box = clipped(m, at(i, 0), at(i, 1), at(i, 2), at(i, 3));
    if (!box) continue;
    found.push({ ...box, score, classIndex: best, scores: Array.from({ length: c }, (_, k) => objectness * at(i, first + k)) });
  }
  return suppress(found, o.nmsIoU, (d) => d.score).slice(0, o.maxObjects);
}

/** Class probabilities from one output of class logits, by the manifest's activation. */
export function probabilities(output: Float32Array, m: Manifest): number[] {
  const values = Array.from(output);
  switch (m.output.activation) {
    case 'none': return values;
    case 'sigmoid': return values.map((v) => 1 / (1 + Math.exp(-v)));
    default: return softmax(values);
  }
}

export function softmax(values: readonly number[]): number[] {
  const top = Math.max(...values);
  const e = values.map((v) => Math.exp(v - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

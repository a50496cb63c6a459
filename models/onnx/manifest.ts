/**
 * The manifest that travels with an ONNX graph in its state: what the graph
 * is (a detector, a classifier, a feature extractor), how an image becomes
 * its input (size, layout, channel order, normalization) and how its output
 * is read (YOLOv5 rows, YOLOv8 columns, class logits, an embedding), with the
 * model's class names. Checked against the graph's own signature
 * (checkSignature) when a state is imported and when it is loaded.
 */
import { z } from 'zod';
import type { GraphSignature, ValueSignature } from './onnx-graph.js';

export const TASKS = ['detector', 'classifier', 'backbone'] as const;
export type Task = (typeof TASKS)[number];

const triple = z.tuple([z.number(), z.number(), z.number()]);

const schema = z.object({
  task: z.enum(TASKS),
  input: z.object({
    /** The graph input fed with images. */
    name: z.string().min(1),
    /** Images (or tiling windows) are resized to size×size. */
    size: z.number().int().min(1).max(8192),
    layout: z.enum(['NCHW', 'NHWC']).default('NCHW'),
    channels: z.enum(['RGB', 'BGR']).default('RGB'),
    /** value = (pixel · scale − mean[c]) / std[c], pixel in 0…255. */
    scale: z.number().positive().default(1 / 255),
    mean: triple.default([0, 0, 0]),
    std: triple.refine((s) => s.every((v) => v > 0), 'must be positive').default([1, 1, 1]),
  }).strict(),
  output: z.object({
    name: z.string().min(1),
    /**
     * yolov5: [batch, N, 5 + C] rows cx, cy, w, h, objectness, C class scores (MegaDetector v5);
     * yolov8: [batch, 4 + C, N] columns cx, cy, w, h, C class scores; logits: [batch, C];
     * embedding: [batch, D] features for a trainable head.
     */
    decoding: z.enum(['yolov5', 'yolov8', 'logits', 'embedding']),
    /** Box coordinates in input pixels (as YOLO exports) or relative to the input. */
    boxUnits: z.enum(['pixels', 'relative']).default('pixels'),
    /** What turns logits into probabilities; 'none' where the graph outputs probabilities. */
    activation: z.enum(['softmax', 'sigmoid', 'none']).default('softmax'),
  }).strict(),
  /** The model's classes in output order (none for a backbone). */
  classes: z.array(z.string().trim().min(1)).default([]),
}).strict();

export type Manifest = z.output<typeof schema>;
export type ManifestInput = z.input<typeof schema>;

const DECODINGS: Record<Task, readonly Manifest['output']['decoding'][]> = {
  detector: ['yolov5', 'yolov8'],
  classifier: ['logits'],
  backbone: ['embedding'],
};

/** The manifest from parsed JSON; throws naming every offending field. */
export function parseManifest(raw: unknown): Manifest {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`invalid manifest: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(manifest)'}: ${i.message}`).join('; ')}`);
  }
  const m = parsed.data;
  if (!DECODINGS[m.task].includes(m.output.decoding)) {
    throw new Error(`invalid manifest: output.decoding '${m.output.decoding}' does not fit task '${m.task}' (${DECODINGS[m.task].join(' or ')})`);
  }
  if (m.task === 'backbone' ? m.classes.length > 0 : m.classes.length === 0) {
    throw new Error(`invalid manifest: classes: ${m.task === 'backbone' ? 'a backbone has none (its head learns the project\'s)' : 'name the model\'s classes in output order'}`);
  }
  if (new Set(m.classes).size !== m.classes.length) throw new Error('invalid manifest: classes: names must be unique');
  return m;
}

/** Positions of channel and spatial dimensions in the input. */
const AXES = { NCHW: { channels: 1, height: 2, width: 3 }, NHWC: { channels: 3, height: 1, width: 2 } };

/** A dimension that is a fixed size other than `want`. */
const differs = (dim: number | string | undefined, want: number) => typeof dim === 'number' && dim !== want;

function checkInput(m: Manifest, input: ValueSignature): string[] {
  const { layout, size, name } = m.input;
  const axes = AXES[layout];
  const problems: string[] = [];
  if (input.type !== 'float32') problems.push(`input '${name}' is ${input.type}, not float32`);
  if (input.shape.length !== 4) return [...problems, `input '${name}' has ${input.shape.length} dimensions, not 4 (${layout})`];
  if (differs(input.shape[axes.channels], 3)) problems.push(`input '${name}' has ${input.shape[axes.channels]} channels in ${layout} order, not 3`);
  if (differs(input.shape[axes.height], size) || differs(input.shape[axes.width], size)) {
    problems.push(`input '${name}' is ${input.shape[axes.height]}×${input.shape[axes.width]}, the manifest says ${size}×${size}`);
  }
  return problems;
}

function checkOutput(m: Manifest, output: ValueSignature): string[] {
  const { decoding, name } = m.output;
  const c = m.classes.length;
  const rank = decoding === 'yolov5' || decoding === 'yolov8' ? 3 : 2;
  const problems: string[] = [];
  if (output.type !== 'float32') problems.push(`output '${name}' is ${output.type}, not float32`);
  if (output.shape.length !== rank) return [...problems, `output '${name}' has ${output.shape.length} dimensions, ${decoding} has ${rank}`];
  if (decoding === 'yolov5' && differs(output.shape[2], 5 + c)) problems.push(`output '${name}' rows have ${output.shape[2]} values, yolov5 with ${c} classes has 5 + ${c}`);
  if (decoding === 'yolov8' && differs(output.shape[1], 4 + c)) problems.push(`output '${name}' has ${output.shape[1]} rows, yolov8 with ${c} classes has 4 + ${c}`);
  if (decoding === 'logits' && differs(output.shape[1], c)) problems.push(`output '${name}' has ${output.shape[1]} logits for ${c} classes`);
  return problems;
}

/** Throws naming every way the graph's signature disagrees with the manifest. */
export function checkSignature(m: Manifest, signature: GraphSignature): void {
  const input = signature.inputs.find((v) => v.name === m.input.name);
  const output = signature.outputs.find((v) => v.name === m.output.name);
  const names = (vs: readonly ValueSignature[]) => vs.map((v) => `'${v.name}'`).join(', ') || 'none';
  const problems = [
    ...(input ? checkInput(m, input) : [`the graph has no input '${m.input.name}' (its inputs: ${names(signature.inputs)})`]),
    ...signature.inputs.filter((v) => v.name !== m.input.name).map((v) => `the graph's input '${v.name}' is not fed: only input.name is`),
    ...(output ? checkOutput(m, output) : [`the graph has no output '${m.output.name}' (its outputs: ${names(signature.outputs)})`]),
  ];
  if (problems.length > 0) throw new Error(`the ONNX graph does not match its manifest: ${problems.join('; ')}`);
}

/** The size of the graph's batch dimension where it is fixed (e.g. an export for batch 1), else undefined. */
export function fixedBatch(signature: GraphSignature, m: Manifest): number | undefined {
  const dim = signature.inputs.find((v) => v.name === m.input.name)?.shape[0];
  return typeof dim === 'number' && dim > 0 ? dim : undefined;
}

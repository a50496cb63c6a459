/**
 * A frozen pretrained backbone with a trainable head (onnx.backboneHead): the
 * imported ONNX graph turns each image into an embedding, once (kept in a
 * bounded cache for the rounds that follow on this worker), and a linear
 * softmax head over the L2-normalized embeddings learns the project's label
 * classes with Adam, full batch. The head lives in the state after the graph
 * (state-format.ts); its classes are added and removed like the built-ins'
 * (a new class starts from the mean of the others), and states trained in
 * parallel average by their heads (the graph is the same).
 */
import { LRUCache } from 'lru-cache';
import { failedPrecondition } from '../../libs/errors.js';
import type { PluginContext } from '../../libs/plugin/context.js';
import type { InferenceData, InferenceResult, LabelPrediction, TrainingData } from '../../libs/plugin/data.js';
import type { PluginMetadataInput } from '../../libs/plugin/metadata.js';
import type { TrainResult, UpdateState } from '../../libs/plugin/plugin.js';
import { isUnreadable } from '../../libs/plugin/unreadable.js';
import { Adam } from '../builtin/adam.js';
import { isHeldOut } from '../builtin/held-out.js';
import { averageClassStates, classOrder, withClasses, type ClassHead } from '../builtin/label-classes.js';
import type { ModelState } from '../builtin/state-format.js';
import { softmax } from './decode.js';
import { OnnxModel, verifyOnnxState, verifyWith, type ImageContext, type LoadedModel } from './onnx-model.js';
import { HEAD_OPTIONS, type HeadSettings } from './settings.js';
import { concat, decodeOnnxState, readOnnxHeader, withHead, type HeadHeader, type OnnxState } from './state-format.js';

const HEAD: ClassHead = { kernel: 'head/kernel', bias: 'head/bias' };

/**
 * Embeddings by graph and image (SHA-256 of the graph, image id and path),
 * bounded by bytes: a round's images are embedded once per worker, not once
 * per round. An image replaced under the same id and path keeps its old
 * embedding until evicted or the worker restarts.
 */
const EMBEDDINGS = new LRUCache<string, Float32Array>({ maxSize: 256 << 20, sizeCalculation: (v) => v.byteLength + 64 });

/** An embedding scaled to unit length, so that the head's scale does not depend on the backbone's. */
function normalized(e: Float32Array): Float32Array {
  let norm = 0;
  for (const v of e) norm += v * v;
  norm = Math.sqrt(norm) || 1;
  return e.map((v) => v / norm);
}

/** Class logits of one (normalized) embedding: kernel [D, C], bias [C]. */
function logitsOf(e: Float32Array, kernel: Float32Array, bias: Float32Array): number[] {
  const c = bias.length;
  const out = Array.from(bias);
  for (let i = 0; i < e.length; i++) {
    const v = e[i]!;
    if (v !== 0) for (let k = 0; k < c; k++) out[k]! += v * kernel[i * c + k]!;
  }
  return out;
}

/** The head as a built-in state, so that class fitting and averaging are the built-ins' (label-classes.ts). */
const asModelState = (head: HeadHeader, tensors: readonly Float32Array[]): ModelState => ({
  header: { model: 'onnx.backboneHead', arch: { classes: head.classes.length }, labelClasses: head.classes, optionsHash: '', stats: head.stats },
  tensors: head.tensors.map((t, i) => ({ ...t, data: tensors[i]! })),
});

const fromModelState = (s: ModelState, stats?: Record<string, number>): { head: HeadHeader; tensors: Float32Array[] } => ({
  head: { classes: s.header.labelClasses, tensors: s.tensors.map(({ name, shape }) => ({ name, shape })), ...(stats ? { stats } : {}) },
  tensors: s.tensors.map((t) => t.data),
});

export class OnnxBackboneHead extends OnnxModel<HeadSettings> {
  static readonly metadata: PluginMetadataInput = {
    kind: 'model', key: 'onnx.backboneHead', name: 'Pretrained ONNX backbone + trainable head', author: 'AIDE mesh',
    description: 'An imported, pretrained ONNX feature extractor (e.g. a BioCLIP or ResNet image encoder) kept frozen, with a linear head trained on its embeddings: '
      + 'images are embedded once with ONNX Runtime (GPU or CPU), then the head trains in seconds and learns from few labels. '
      + 'Import the .onnx graph with a manifest of task "backbone" (<code>aide states import --onnx-manifest</code>). Supports adding and removing label classes.',
    annotationType: 'labels', predictionType: 'labels', canAddLabelClasses: true, canRemoveLabelClasses: true,
  };

  static getDefaultOptions = HEAD_OPTIONS.defaultOptions;
  static readonly verifyOptions = verifyWith(HEAD_OPTIONS.resolve);
  static verifyState = (head: Uint8Array, size: number) => verifyOnnxState(head, size, 'backbone');

  protected readonly task = 'backbone';
  protected readonly key = OnnxBackboneHead.metadata.key;

  constructor(ctx: PluginContext) {
    super(ctx, HEAD_OPTIONS.resolve);
  }

  protected decode(output: Float32Array, loaded: LoadedModel, image: ImageContext): LabelPrediction[] {
    const { head } = loaded.state;
    const classes = loaded.state.header.head!.classes;
    const p = softmax(logitsOf(normalized(output), head[0]!, head[1]!));
    // Only classes the project still has can be predicted.
    const known = classes.map((id) => Object.keys(image.labelClasses).length === 0 || id in image.labelClasses);
    let top = -1;
    p.forEach((v, k) => { if (known[k] && (top < 0 || v > p[top]!)) top = k; });
    return top < 0 ? [] : [{ label: classes[top], confidence: p[top]!, logits: p.filter((_, k) => known[k]) }];
  }

  protected override async load(stateDict: Uint8Array | null): Promise<LoadedModel> {
    const loaded = await super.load(stateDict);
    const head = loaded.state.header.head;
    if (head && head.tensors.map((t) => t.name).join() !== `${HEAD.kernel},${HEAD.bias}`) {
      loaded.release();
      throw new Error('the state\'s head is not a linear head (head/kernel, head/bias)');
    }
    return loaded;
  }

  override async inference(stateDict: Uint8Array | null, data: InferenceData, updateState: UpdateState, signal?: AbortSignal): Promise<InferenceResult> {
    if (stateDict && !readOnnxHeader(stateDict, stateDict.length).header.head) throw failedPrecondition('the backbone has no trained head yet: train first');
    return super.inference(stateDict, data, updateState, signal);
  }

  /** Each readable image's embedding (from the cache where there), in order of `images`, and why the others cannot be read. */
  private async embeddings(images: readonly { id: string; filename: string }[], loaded: LoadedModel, signal: AbortSignal | undefined) {
    const key = (i: { id: string; filename: string }) => `${loaded.state.header.onnxSha256}:${i.id}:${i.filename}`;
    // Held here for the round: the cache may evict what it was just given.
    const held = new Map(images.flatMap((i) => { const e = EMBEDDINGS.get(key(i)); return e ? [[i.id, e] as const] : []; }));
    const missing = images.filter((i) => !held.has(i.id));
    const unreadable: Record<string, string> = {};
    const outputs = await this.outputs(missing.map((i) => i.filename), loaded, signal);
    outputs.forEach((o, k) => {
      const image = missing[k]!;
      if (isUnreadable(o)) {
        unreadable[image.id] = o.unreadable;
        return;
      }
      const e = normalized(o.output);
      held.set(image.id, e);
      EMBEDDINGS.set(key(image), e);
    });
    return { found: images.flatMap((i) => { const e = held.get(i.id); return e ? [{ id: i.id, embedding: e }] : []; }), unreadable };
  }

  override async train(stateDict: Uint8Array | null, data: TrainingData, updateState: UpdateState, signal?: AbortSignal): Promise<TrainResult> {
    const loaded = await this.load(stateDict);
    try {
      return await this.trainHead(loaded, data, updateState, signal);
    } finally {
      loaded.release();
    }
  }

  private async trainHead(loaded: LoadedModel, data: TrainingData, updateState: UpdateState, signal?: AbortSignal): Promise<TrainResult> {
    const started = performance.now();
    const classes = classOrder(data.labelClasses);
    if (classes.length === 0) throw new Error('the project has no label classes to train on');
    const index = new Map(classes.map((id, k) => [id, k]));
    const labelled = Object.entries(data.images).flatMap(([id, image]) => {
      const label = (image.annotations ?? []).map((a) => ('label' in a ? a.label : undefined)).find((l) => l !== undefined && index.has(l));
      return label === undefined ? [] : [{ id, filename: image.filename, target: index.get(label)! }];
    });
    updateState('PROGRESS', `embedding images with ${loaded.runtime}`, 0, labelled.length);
    const { found, unreadable } = await this.embeddings(labelled, loaded, signal);
    const targets = new Map(labelled.map((l) => [l.id, l.target]));
    const { validationFraction, seed, epochs, learningRate, weightDecay } = this.settings;
    const training = found.filter((e) => !isHeldOut(e.id, validationFraction, seed));
    const heldOut = found.filter((e) => isHeldOut(e.id, validationFraction, seed));
    if (training.length === 0) throw new Error('no readable labelled images to train on');

    const dim = training[0]!.embedding.length;
    const c = classes.length;
    const previous = loaded.state.header.head;
    const start = previous
      ? withClasses(asModelState(previous, loaded.state.head), classes, HEAD)
      : asModelState({ classes, tensors: [{ name: HEAD.kernel, shape: [dim, c] }, { name: HEAD.bias, shape: [c] }] }, [new Float32Array(dim * c), new Float32Array(c)]);
    if (start.tensors[0]!.shape[0] !== dim) throw new Error(`the head takes ${start.tensors[0]!.shape[0]} features, the backbone gives ${dim}`);
    const params = start.tensors.map((t) => Float32Array.from(t.data));
    const adam = new Adam(params, { learningRate, weightDecay });
    const grads = params.map((p) => new Float32Array(p.length));
    let trainLoss = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      signal?.throwIfAborted();
      grads.forEach((g) => g.fill(0));
      trainLoss = 0;
      for (const { id, embedding } of training) {
        const p = softmax(logitsOf(embedding, params[0]!, params[1]!));
        const y = targets.get(id)!;
        trainLoss -= Math.log(Math.max(p[y]!, 1e-12)) / training.length;
        for (let k = 0; k < c; k++) {
          const d = (p[k]! - (k === y ? 1 : 0)) / training.length;
          grads[1]![k]! += d;
          for (let i = 0; i < dim; i++) grads[0]![i * c + k]! += d * embedding[i]!;
        }
      }
      adam.step(params, grads);
      if ((epoch + 1) % 10 === 0 || epoch + 1 === epochs) updateState('PROGRESS', `training the head on ${training.length} embeddings`, epoch + 1, epochs);
    }
    const correct = heldOut.filter(({ id, embedding }) => {
      const logits = logitsOf(embedding, params[0]!, params[1]!);
      return logits.indexOf(Math.max(...logits)) === targets.get(id);
    }).length;
    const stats: Record<string, number> = {
      images: training.length, epochs, trainLoss, heldOutImages: heldOut.length,
      ...(heldOut.length > 0 ? { heldOutAccuracy: correct / heldOut.length } : {}),
      seconds: (performance.now() - started) / 1000,
    };
    const trained = fromModelState({ ...start, tensors: start.tensors.map((t, i) => ({ ...t, data: params[i]! })) }, stats);
    return { state: concat(withHead(loaded.state, trained.head, trained.tensors)), stats, unreadable };
  }

  /** The heads' weighted average (classes aligned as the built-ins do); the graph must be the same. */
  override async averageModelStates(stateDicts: Uint8Array[], updateState: UpdateState, weights?: number[], signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    const states: OnnxState[] = stateDicts.map((s) => decodeOnnxState(s));
    const [first] = states;
    if (!first) throw new Error('no model states to average');
    if (states.some((s) => s.header.onnxSha256 !== first.header.onnxSha256)) throw failedPrecondition('the states hold different ONNX graphs, which cannot be averaged');
    if (states.some((s) => !s.header.head)) throw failedPrecondition('a state to average has no trained head');
    const averaged = averageClassStates(states.map((s) => asModelState(s.header.head!, s.head)), HEAD, weights);
    updateState('PROGRESS', 'averaging', states.length, states.length);
    const { head, tensors } = fromModelState(averaged);
    return concat(withHead(first, head, tensors));
  }
}

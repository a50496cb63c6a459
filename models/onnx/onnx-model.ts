/**
 * What the ONNX plugins share: a state is an imported ONNX graph with its
 * manifest (state-format.ts), verified on import from its first bytes
 * (verifyOnnxState) and again against the loaded graph; inference reads
 * images in batches (the image loader: FileServer ReadImages where offered),
 * runs them through ONNX Runtime on the CUDA or CPU provider (named in the
 * job's progress messages) and lets the plugin decode each output. Training
 * is refused unless a plugin has something to train (backbone-head.ts).
 */
import { failedPrecondition } from '../../libs/errors.js';
import type { PluginContext } from '../../libs/plugin/context.js';
import type { InferenceData, InferenceResult, LabelClass, Prediction, TrainingData } from '../../libs/plugin/data.js';
import type { AIModel, TrainResult, UpdateState, VerifyOptionsResult } from '../../libs/plugin/plugin.js';
import { isUnreadable, type Unreadable } from '../../libs/plugin/unreadable.js';
import { validSettings, type Resolved } from '../builtin/model-settings.js';
import { sizedImages, type SizedImage } from '../builtin/image-loader.js';
import { checkSignature, fixedBatch, type Task } from './manifest.js';
import { graphSignature } from './onnx-graph.js';
import { inputShape, toInput } from './preprocess.js';
import { acquireSession, createSession, providerLabel, runBatch, type LoadedGraph } from './runtime.js';
import { decodeOnnxState, readOnnxHeader, type OnnxState } from './state-format.js';
import type { OnnxSettings } from './settings.js';

/** Images read and predicted at a time during inference (bounds memory). */
const INFERENCE_CHUNK = 256;

/** An image's predictions, or why it could not be read. */
export type FilePredictions = Prediction[] | Unreadable;

/** A state ready to predict with. */
export interface LoadedModel {
  state: OnnxState;
  graph: LoadedGraph;
  /** Outputs of size×size RGB images, one per image, in order. */
  run(images: readonly Uint8Array[]): Promise<Float32Array[]>;
  /** "ONNX Runtime on CPU", for progress messages. */
  runtime: string;
  /** Hands the session back (kept warm for the next job); call once done. */
  release(): void;
}

/** A graph output and the size of the image it is of. */
export interface ImageOutput {
  output: Float32Array;
  width: number;
  height: number;
}

/** What a plugin's decoding may need besides an output. */
export interface ImageContext {
  width: number;
  height: number;
  labelClasses: Record<string, LabelClass>;
}

/** verifyOptions from a settings resolver. */
export const verifyWith = (resolve: (options: Record<string, unknown>) => Resolved<unknown>) => (options: Record<string, unknown>): VerifyOptionsResult => {
  const { warnings, errors, options: completed } = resolve(options);
  return { valid: errors.length === 0, warnings, errors, options: completed };
};

/**
 * verifyState of the ONNX plugins: the header (a valid manifest of `task`,
 * lengths that add up to `size`), then the graph's inputs and outputs, read
 * from the head, against the manifest. A graph that lies wholly in the head
 * is also loaded by ONNX Runtime and checked as it reports itself.
 */
export async function verifyOnnxState(head: Uint8Array, size: number, task: Task): Promise<void> {
  const { header, onnxOffset } = readOnnxHeader(head, size);
  if (header.manifest.task !== task) throw new Error(`the manifest's task is '${header.manifest.task}', this model runs a ${task}`);
  const onnx = head.subarray(onnxOffset, onnxOffset + header.onnxBytes);
  const complete = onnx.length === header.onnxBytes;
  let signature;
  try {
    signature = graphSignature(onnx, !complete);
  } catch (err) {
    throw new Error(`the ONNX graph cannot be read: ${(err as Error).message}`);
  }
  if (!signature) throw new Error('the ONNX graph\'s inputs and outputs do not lie within the state\'s first bytes: pack the .onnx file with its manifest (aide states import --onnx-manifest), which puts them first');
  checkSignature(header.manifest, signature);
  if (complete) {
    decodeOnnxState(head.subarray(0, size));
    const graph = await createSession(onnx, 'cpu', 1);
    try {
      checkSignature(header.manifest, graph.signature);
    } finally {
      await graph.session.release();
    }
  }
}

/**
 * A decoded state on ONNX Runtime (warm where the last job used its graph), checked against its manifest:
 * images run `batchSize` at a time, or as many as a graph with a fixed batch size takes (the rest padded).
 */
export async function loadState(state: OnnxState, { provider, threads, batchSize }: Pick<OnnxSettings, 'provider' | 'threads' | 'batchSize'>): Promise<LoadedModel> {
  const { manifest, onnxSha256 } = state.header;
  const { graph, release } = await acquireSession(state.onnx, onnxSha256, provider, threads);
  try {
    checkSignature(manifest, graph.signature);
  } catch (err) {
    release();
    throw err;
  }
  const fixed = fixedBatch(graph.signature, manifest);
  const perRun = fixed ?? batchSize;
  const shape = inputShape(manifest);
  const names = { input: manifest.input.name, output: manifest.output.name };
  return {
    state,
    graph,
    runtime: providerLabel(graph),
    release,
    async run(images) {
      const out: Float32Array[] = [];
      for (let i = 0; i < images.length; i += perRun) {
        const part = images.slice(i, i + perRun);
        const slots = fixed ?? part.length;
        const outputs = await runBatch(graph, names, toInput(manifest, part, slots), shape, slots);
        out.push(...outputs.slice(0, part.length));
      }
      return out;
    },
  };
}

export abstract class OnnxModel<S extends OnnxSettings> implements AIModel {
  protected abstract readonly task: Task;
  /** Registry key, for messages. */
  protected abstract readonly key: string;
  protected readonly settings: S;

  constructor(
    protected readonly ctx: PluginContext,
    resolve: (options: Record<string, unknown>) => Resolved<S>,
  ) {
    this.settings = validSettings(resolve(ctx.options));
  }

  /** An image's predictions from the graph's output for it. */
  protected abstract decode(output: Float32Array, loaded: LoadedModel, image: ImageContext): Prediction[];

  /** The state decoded, its graph loaded (warm where the last job used it) and checked against the manifest. */
  protected async load(stateDict: Uint8Array | null): Promise<LoadedModel> {
    if (!stateDict) throw failedPrecondition(`${this.key} has no weights of its own: import an ONNX model state first (aide states import --onnx-manifest, ImportModelState or the marketplace)`);
    const state = decodeOnnxState(stateDict);
    if (state.header.manifest.task !== this.task) throw failedPrecondition(`the state holds a ${state.header.manifest.task}, ${this.key} runs a ${this.task}`);
    return loadState(state, this.settings);
  }

  /** Each file's graph output with its image's size, or why it cannot be read: images read in batches at the input size, run a batch at a time. */
  protected async outputs(filenames: readonly string[], loaded: LoadedModel, signal?: AbortSignal): Promise<(ImageOutput | Unreadable)[]> {
    const size = loaded.state.header.manifest.input.size;
    const out: (ImageOutput | Unreadable)[] = [];
    let pending: { at: number; image: SizedImage }[] = [];
    const flush = async () => {
      const outputs = await loaded.run(pending.map((p) => p.image.pixels));
      pending.forEach(({ at, image }, k) => { out[at] = { output: outputs[k]!, width: image.width, height: image.height }; });
      pending = [];
    };
    for await (const image of sizedImages(this.ctx.fileServer, filenames, size, signal)) {
      if (isUnreadable(image)) {
        out.push(image);
        continue;
      }
      pending.push({ at: out.push({ output: new Float32Array(0), width: 0, height: 0 }) - 1, image });
      if (pending.length >= this.settings.batchSize) await flush();
    }
    if (pending.length > 0) await flush();
    return out;
  }

  /** Each file's predictions, or why it cannot be read. */
  protected async predictFiles(filenames: readonly string[], loaded: LoadedModel, labelClasses: Record<string, LabelClass>, signal?: AbortSignal): Promise<FilePredictions[]> {
    const outputs = await this.outputs(filenames, loaded, signal);
    return outputs.map((o) => (isUnreadable(o) ? o : this.decode(o.output, loaded, { width: o.width, height: o.height, labelClasses })));
  }

  async inference(stateDict: Uint8Array | null, data: InferenceData, updateState: UpdateState, signal?: AbortSignal): Promise<InferenceResult> {
    const loaded = await this.load(stateDict);
    try {
      return await this.predictAll(loaded, data, updateState, signal);
    } finally {
      loaded.release();
    }
  }

  private async predictAll(loaded: LoadedModel, data: InferenceData, updateState: UpdateState, signal?: AbortSignal): Promise<InferenceResult> {
    const entries = Object.entries(data.images);
    const result: InferenceResult = {};
    updateState('PROGRESS', `predicting with ${loaded.runtime}`, 0, entries.length);
    for (let start = 0; start < entries.length; start += INFERENCE_CHUNK) {
      signal?.throwIfAborted();
      const chunk = entries.slice(start, start + INFERENCE_CHUNK);
      const predictions = await this.predictFiles(chunk.map(([, image]) => image.filename), loaded, data.labelClasses, signal);
      chunk.forEach(([id], i) => {
        const p = predictions[i]!;
        result[id] = isUnreadable(p) ? { predictions: [], unreadable: p.unreadable } : { predictions: p };
      });
      updateState('PROGRESS', `predicting with ${loaded.runtime}`, start + chunk.length, entries.length);
    }
    return result;
  }

  async train(_stateDict: Uint8Array | null, _data: TrainingData, _updateState: UpdateState, _signal?: AbortSignal): Promise<TrainResult> {
    throw failedPrecondition(`${this.key} runs a pretrained ONNX graph as it is and cannot be trained: run inference (a workflow with steps inference and rank), or use onnx.backboneHead to train a head on the graph's features`);
  }

  /** States without a head are their graph: the same graph averages to itself. */
  async averageModelStates(stateDicts: Uint8Array[], updateState: UpdateState, _weights?: number[], signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    const [first] = stateDicts;
    if (!first) throw new Error('no model states to average');
    const sha = (s: Uint8Array) => readOnnxHeader(s, s.length).header.onnxSha256;
    if (stateDicts.some((s) => sha(s) !== sha(first))) throw failedPrecondition('the states hold different ONNX graphs, which cannot be averaged');
    updateState('PROGRESS', 'averaging', stateDicts.length, stateDicts.length);
    return first;
  }
}

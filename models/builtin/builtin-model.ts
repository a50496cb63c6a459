/**
 * What every built-in model does the same way, whatever it predicts: states
 * in the shared binary format, fresh or continued networks with their class
 * head fitted to the project's classes, training on the replica pool (a warm
 * one where an earlier call left one, pool-cache.ts) with a deterministic
 * held-out split for statistics, weighted averaging of states trained in
 * parallel, chunked inference. A model supplies its network, how an image's
 * annotations become a target, held-out statistics and how a network output
 * becomes predictions; it may choose which classes get outputs.
 */
import type { PluginContext } from '../../libs/plugin/context.js';
import { isUnreadable, type Unreadable } from '../../libs/plugin/unreadable.js';
import type { Annotation, InferenceData, InferenceResult, LabelClass, Prediction, TrainingData } from '../../libs/plugin/data.js';
import type { AIModel, StateStream, TrainResult, UpdateState, VerifyOptionsResult } from '../../libs/plugin/plugin.js';
import type { Example, TargetEncoder } from './batch.js';
import { isHeldOut } from './held-out.js';
import { loadSizedImages, type SizedImage } from './image-loader.js';
import { averageClassStates, classOrder, withClasses, type ClassHead } from './label-classes.js';
import { validSettings, type ModelSettings, type Resolved } from './model-settings.js';
import { initialParameters, type Arch, type ParamSpec } from './network.js';
import { pipelined } from './pipeline.js';
import { withPool, withPoolStream } from './pool-cache.js';
import { predictImages } from './predict.js';
import type { ReplicaPool } from './replica-pool.js';
import { decodeState, encodeState, expectModel, optionsHash, readStateHeader, type ModelState, type TensorSpec } from './state-format.js';
import { averageStateStreams } from './stream-average.js';
import { trainLoop } from './train-loop.js';

/** Images loaded and predicted at a time during inference (bounds memory). */
const INFERENCE_CHUNK = 256;

/** An annotated image a model can learn from. */
export interface UsableImage<T> {
  id: string;
  filename: string;
  target: T;
}

/** A training example and the file it comes from (which decides the held-out split). */
export type TaggedExample<T> = Example<T> & { filename: string };

/** The examples of the readable images, and why each other image could not be read (image id → reason). */
export interface LoadedExamples<T> {
  examples: TaggedExample<T>[];
  unreadable: Record<string, string>;
}

/** An image's predictions (with its embedding where the network gives one), or why it could not be read. */
export type FilePredictions = Prediction[] | { predictions: Prediction[]; embedding: Float32Array } | Unreadable;

/** What inference predicts with: the network on the pool, the state's classes, which the project still has. */
export interface Predictor<A> {
  pool: ReplicaPool;
  params: Float32Array[];
  arch: A;
  classes: readonly string[];
  known: readonly boolean[];
  /** The project's classes. */
  labelClasses: Record<string, LabelClass>;
  signal?: AbortSignal;
}

/** What target() may need beyond an image's annotations. */
export interface TargetContext<A> {
  arch: A;
  labelClasses: Record<string, LabelClass>;
}

/** What predictions() may need beyond the network output: the image's own size (before it was squashed to the input), the project's classes. */
export interface ImageContext {
  width: number;
  height: number;
  labelClasses: Record<string, LabelClass>;
}

export interface ModelArch extends Arch {
  inputSize: number;
  classes: number;
}

/** verifyOptions of a model from its settings resolver. */
export function verifyWith(resolve: (options: Record<string, unknown>) => Resolved<unknown>) {
  return (options: Record<string, unknown>): VerifyOptionsResult => {
    const { warnings, errors, options: completed } = resolve(options);
    return { valid: errors.length === 0, warnings, errors, options: completed };
  };
}

/** Throws unless the tensors a state lists are those its architecture has, in order. */
function expectTensors(listed: readonly TensorSpec[], expected: readonly ParamSpec[]): void {
  const mismatch = expected.length !== listed.length || expected.some((s, i) => s.name !== listed[i]!.name || s.shape.join() !== listed[i]!.shape.join());
  if (mismatch) throw new Error('model state tensors do not match its architecture');
}

/**
 * verifyState of a built-in model (see PluginStatics): the state's header,
 * read from its first bytes, names model `key`, a sound architecture (with
 * the `fixed` values this model always has) whose tensors it lists, one output per label class, and data that fill the state
 * exactly.
 */
export function verifyBuiltinState<A extends ModelArch>(
  head: Uint8Array, size: number, key: string, specs: (arch: A) => ParamSpec[], fixed?: Partial<A>,
): void {
  const header = readStateHeader(head, size);
  expectModel(header, key, fixed as Record<string, number | string> | undefined);
  const arch = header.arch as A;
  const counts = ['inputSize', 'width', 'depth', 'classes'] as const;
  const bad = counts.filter((k) => !Number.isSafeInteger(arch[k]) || (arch[k] as number) < 1);
  if (bad.length > 0) throw new Error(`model state architecture has no valid ${bad.join(', ')}`);
  // Every stage has parameters: a deeper network than the header lists tensors cannot match (and is never built).
  const depth = arch.depth as number;
  if (depth > header.tensors.length) throw new Error(`model state architecture of depth ${depth} lists only ${header.tensors.length} tensors`);
  expectTensors(header.tensors, specs(arch));
  if (header.labelClasses.length !== arch.classes) {
    throw new Error(`model state lists ${header.labelClasses.length} label classes for ${arch.classes} outputs`);
  }
}

export abstract class BuiltinModel<T, A extends ModelArch, S extends ModelSettings> implements AIModel {
  /** Registry key, written into and expected of states. */
  protected abstract readonly key: string;
  /** The module exporting createNetwork (see NetworkModule). */
  protected abstract readonly networkModule: URL;
  /** The tensors holding one output per label class. */
  protected abstract readonly head: ClassHead;

  protected abstract specs(arch: A): ParamSpec[];
  /** The architecture of a fresh network for `classes` classes, from the settings. */
  protected abstract freshArch(classes: number): A;
  /** An image's training target, or undefined to leave the image out; classIndex: class id → output. */
  protected abstract target(annotations: readonly Annotation[], classIndex: ReadonlyMap<string, number>, context: TargetContext<A>): T | undefined;
  protected abstract encoder(arch: A): TargetEncoder<T>;
  /** Held-out statistics from network outputs (Network.predict), one per held-out image. */
  protected abstract evaluate(targets: readonly T[], outputs: readonly Float32Array[], arch: A): Record<string, number>;
  /**
   * An image's predictions from its network output; `classes` are the
   * state's, in output order, `known[k]` whether the project still has class k.
   */
  protected abstract predictions(output: Float32Array, arch: A, classes: readonly string[], known: readonly boolean[], image: ImageContext): Prediction[];

  protected readonly settings: S;

  /**
   * How many values at the end of each network output (Network.predict) are
   * the image's embedding rather than the prediction: none by default. The
   * classifier appends its penultimate features.
   */
  protected embeddingSize(_arch: A): number {
    return 0;
  }

  /** The network outputs without their embeddings. */
  private withoutEmbeddings(outputs: readonly Float32Array[], arch: A): Float32Array[] {
    const e = this.embeddingSize(arch);
    return e === 0 ? [...outputs] : outputs.map((o) => o.subarray(0, o.length - e));
  }

  /** The classes a training round has outputs for, in output order: by default the project's, by index. */
  protected outputClasses(data: TrainingData): string[] {
    return classOrder(data.labelClasses);
  }

  /**
   * Training examples of the usable images, each tagged with its image's file
   * (for the held-out split): here one per readable image, resized to the input.
   */
  protected async examples(images: readonly UsableImage<T>[], size: number, signal: AbortSignal | undefined, loaded: (done: number) => void): Promise<LoadedExamples<T>> {
    const loadedImages = await loadSizedImages(this.ctx.fileServer, images.map((u) => u.filename), size, signal, loaded);
    const out: LoadedExamples<T> = { examples: [], unreadable: {} };
    images.forEach((u, i) => {
      const image = loadedImages[i]!;
      if (isUnreadable(image)) out.unreadable[u.id] = image.unreadable;
      else out.examples.push({ filename: u.filename, target: u.target, image: image.pixels });
    });
    return out;
  }

  /**
   * Inference's first stage, run for the next chunk while the current one is
   * predicted: the chunk's images at the input size (or why each cannot be
   * read). Undefined where predictFiles reads as it predicts (tiling).
   */
  protected async readFiles(filenames: readonly string[], { arch, signal }: Predictor<A>): Promise<(SizedImage | Unreadable)[] | undefined> {
    return loadSizedImages(this.ctx.fileServer, filenames, arch.inputSize, signal);
  }

  /** Predictions of each file (read by readFiles, or here), or why it could not be read: here one network input per image. */
  protected async predictFiles(filenames: readonly string[], predictor: Predictor<A>, read?: (SizedImage | Unreadable)[]): Promise<FilePredictions[]> {
    const { pool, params, arch, classes, known, labelClasses, signal } = predictor;
    const images = read ?? (await loadSizedImages(this.ctx.fileServer, filenames, arch.inputSize, signal));
    const readable = images.flatMap((image) => (isUnreadable(image) ? [] : [image.pixels]));
    const outputs = await predictImages(pool, params, readable, arch.inputSize, this.settings.batchSize, signal);
    const e = this.embeddingSize(arch);
    let next = 0;
    return images.map((image) => {
      if (isUnreadable(image)) return image;
      const output = outputs[next++]!;
      const predictions = this.predictions(output.subarray(0, output.length - e), arch, classes, known, { width: image.width, height: image.height, labelClasses });
      return e === 0 ? predictions : { predictions, embedding: output.slice(output.length - e) };
    });
  }

  constructor(
    protected readonly ctx: PluginContext,
    resolve: (options: Record<string, unknown>) => Resolved<S>,
  ) {
    this.settings = validSettings(resolve(ctx.options));
  }

  private decode(stateDict: Uint8Array): ModelState {
    const state = decodeState(stateDict);
    this.expectOwn(state.header, state.tensors);
    return state;
  }

  /** Refuses a state of another model, or whose tensors do not match its architecture. */
  private expectOwn(header: ModelState['header'], tensors: readonly TensorSpec[]): void {
    expectModel(header, this.key);
    expectTensors(tensors, this.specs(header.arch as A));
  }

  /** A new network for `classes`; options shape fresh models only (a state keeps its architecture). */
  private fresh(classes: string[]): ModelState {
    const arch = this.freshArch(classes.length);
    return {
      header: { model: this.key, arch, labelClasses: classes, optionsHash: optionsHash(this.ctx.options) },
      tensors: initialParameters(this.specs(arch), this.settings.seed),
    };
  }

  private poolOptions(arch: A) {
    return { networkModule: this.networkModule, arch, threads: this.settings.threads, backend: this.settings.backend };
  }

  private withPool<R>(arch: A, use: (pool: ReplicaPool) => Promise<R>): Promise<R> {
    return withPool(this.poolOptions(arch), use);
  }

  async train(stateDict: Uint8Array | null, data: TrainingData, updateState: UpdateState, signal?: AbortSignal): Promise<TrainResult> {
    const started = performance.now();
    const classes = this.outputClasses(data);
    if (classes.length === 0) throw new Error('the project has no label classes to train on');
    const state = stateDict ? withClasses(this.decode(stateDict), classes, this.head) : this.fresh(classes);
    const arch = state.header.arch as A;
    const { seed, validationFraction, batchSize } = this.settings;

    const index = new Map(classes.map((id, k) => [id, k]));
    const context = { arch, labelClasses: data.labelClasses };
    // In path order, and held out by path: the same labelled files and seed train the same network
    // whatever order the images came in and whatever ids a project gave them (reproducible training).
    const byPath = Object.entries(data.images).sort(([, a], [, b]) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
    const usable = byPath.flatMap(([id, image]) => {
      let target: T | undefined;
      try {
        target = this.target(image.annotations ?? [], index, context);
      } catch (err) {
        throw new Error(`image ${id}: ${(err as Error).message}`);
      }
      return target === undefined ? [] : [{ id, filename: image.filename, target }];
    });
    // One bar for the whole step, loading then training: the batches' count is as planned before
    // loading (an unreadable image only shortens it), so the bar never jumps back between the two.
    const plannedBatches = this.settings.epochs * Math.ceil(usable.filter((u) => !isHeldOut(u.filename, validationFraction, seed)).length / batchSize);
    const { examples, unreadable } = await this.examples(usable, arch.inputSize, signal, (done) => updateState('PROGRESS', 'loading images', done, usable.length + plannedBatches));
    const heldOut = examples.filter((e) => isHeldOut(e.filename, validationFraction, seed));
    const training: Example<T>[] = examples.filter((e) => !isHeldOut(e.filename, validationFraction, seed));
    if (training.length === 0) throw new Error('no readable annotated images to train on');

    const params = state.tensors.map((t) => Float32Array.from(t.data));
    return this.withPool(arch, async (pool) => {
      const afterLoading: UpdateState = (state, message, done = 0, total = 0) => updateState(state, message, usable.length + done, usable.length + total);
      const { trainLoss } = await trainLoop(pool, params, training, this.encoder(arch), { ...this.settings, size: arch.inputSize }, afterLoading, signal);
      const outputs = await predictImages(pool, params, heldOut.map((e) => e.image), arch.inputSize, batchSize, signal);
      const stats: Record<string, number> = {
        images: training.length,
        epochs: this.settings.epochs,
        trainLoss,
        heldOutImages: heldOut.length,
        ...(heldOut.length > 0 ? this.evaluate(heldOut.map((e) => e.target), this.withoutEmbeddings(outputs, arch), arch) : {}),
        seconds: (performance.now() - started) / 1000,
      };
      const trained: ModelState = {
        header: { ...state.header, optionsHash: optionsHash(this.ctx.options), stats },
        tensors: state.tensors.map((t, i) => ({ ...t, data: params[i]! })),
      };
      return { state: encodeState(trained), stats, unreadable };
    });
  }

  async averageModelStates(stateDicts: Uint8Array[], updateState: UpdateState, weights?: number[], signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted();
    const states = stateDicts.map((s) => this.decode(s));
    const averaged = averageClassStates(states, this.head, weights);
    updateState('PROGRESS', 'averaging', states.length, states.length);
    return encodeState(averaged);
  }

  /** averageModelStates as the states arrive, holding one accumulator (stream-average.ts). */
  async averageModelStateStreams(states: AsyncIterable<StateStream>, updateState: UpdateState, signal?: AbortSignal): Promise<readonly Uint8Array[]> {
    return averageStateStreams(states, {
      check: (header) => this.expectOwn(header, header.tensors),
      head: this.head,
      signal,
      added: (done, of) => updateState('PROGRESS', 'averaging', done, of),
    });
  }

  /**
   * Inference as it goes: chunks of INFERENCE_CHUNK images, each chunk's
   * images read while the one before is predicted (pipeline.ts), its entries
   * yielded once predicted; memory holds two chunks whatever the job's size.
   */
  async *inferenceStream(stateDict: Uint8Array | null, data: InferenceData, updateState: UpdateState, signal?: AbortSignal): AsyncGenerator<InferenceResult> {
    if (!stateDict) throw new Error('the model must be trained before inference');
    const state = this.decode(stateDict);
    const arch = state.header.arch as A;
    const classes = state.header.labelClasses;
    // Only classes the project still has can be predicted.
    const known = classes.map((id) => Object.keys(data.labelClasses).length === 0 || id in data.labelClasses);
    const params = state.tensors.map((t) => t.data);
    const ids = Object.keys(data.images);
    const chunks = function* () {
      for (let start = 0; start < ids.length; start += INFERENCE_CHUNK) yield ids.slice(start, start + INFERENCE_CHUNK);
    };
    const filenames = (chunk: readonly string[]) => chunk.map((id) => data.images[id]!.filename);
    let done = 0;
    yield* withPoolStream(this.poolOptions(arch), (pool) => {
      const predictor: Predictor<A> = { pool, params, arch, classes, known, labelClasses: data.labelClasses, signal };
      return pipelined(chunks(), (chunk) => this.readFiles(filenames(chunk), predictor), async (read, chunk) => {
        const predictions = await this.predictFiles(filenames(chunk), predictor, read);
        const result: InferenceResult = {};
        chunk.forEach((id, i) => {
          const p = predictions[i]!;
          result[id] = isUnreadable(p) ? { predictions: [], unreadable: p.unreadable } : Array.isArray(p) ? { predictions: p } : p;
        });
        done += chunk.length;
        updateState('PROGRESS', 'predicting', done, ids.length);
        return result;
      });
    });
  }

  async inference(stateDict: Uint8Array | null, data: InferenceData, updateState: UpdateState, signal?: AbortSignal): Promise<InferenceResult> {
    const result: InferenceResult = {};
    for await (const part of this.inferenceStream(stateDict, data, updateState, signal)) Object.assign(result, part);
    return result;
  }
}

/**
 * The contract of prediction models and rankers (active-learning criteria):
 * the seed's Python classes, method for method, plus an AbortSignal so long
 * work can be cancelled.
 */
import type { PluginContext, PluginOptions } from './context.js';
import type { InferenceData, InferenceResult, RankData, TrainingData } from './data.js';
import type { PluginMetadataInput } from './metadata.js';

/**
 * Progress reporting, as the seed's updateStateFun. state "PROGRESS" with done
 * and total fills a progress bar; any other word shows an indefinite one.
 * Do not report failure through it: throw instead.
 */
export type UpdateState = (state: string, message?: string, done?: number, total?: number) => void;

/**
 * train() returns the new state, optionally with numeric statistics (loss,
 * accuracy, …) and the images it could not read (image id → why: missing, not
 * an image), which the job reports and does not count as trained on.
 */
export type TrainResult = Uint8Array | { state: Uint8Array; stats?: Record<string, number>; unreadable?: Record<string, string> };

/** One input of a streamed average (averageModelStateStreams). */
export interface StateStream {
  /** Its position among the states, 0…count-1. */
  index: number;
  /** How many states are averaged. */
  count: number;
  /** Images the state was trained on: its weight. */
  weight: number;
  /**
   * The state's bytes in order, in pieces of any size, verified as they pass
   * (size limit, SHA-256): an iteration that ends normally has seen exactly
   * the sent state. A corrupted state makes the iteration throw (DATA_LOSS)
   * at its end; let that error propagate, never return a result after it.
   * Read every state to its end before taking the next.
   */
  bytes: AsyncIterable<Uint8Array>;
}

export interface AIModel {
  /**
   * One round of training. stateDict is null for a fresh model. Check
   * signal.throwIfAborted() between batches.
   */
  train(stateDict: Uint8Array | null, data: TrainingData, updateState: UpdateState, signal?: AbortSignal): Promise<TrainResult>;

  /**
   * Combines the states N workers trained in parallel into one.
   * weights: how many images each state was trained on, when known.
   */
  averageModelStates(stateDicts: Uint8Array[], updateState: UpdateState, weights?: number[], signal?: AbortSignal): Promise<Uint8Array>;

  /**
   * Optional, preferred by the worker when present: averageModelStates over
   * states that arrive one after another as byte streams, so that they can
   * be combined without holding any of them whole. Returns the combined
   * state as consecutive pieces (sent in order, never concatenated).
   */
  averageModelStateStreams?(states: AsyncIterable<StateStream>, updateState: UpdateState, signal?: AbortSignal): Promise<readonly Uint8Array[]>;

  /** One entry per image of data.images, each with its (possibly empty) predictions. */
  inference(stateDict: Uint8Array | null, data: InferenceData, updateState: UpdateState, signal?: AbortSignal): Promise<InferenceResult>;
}

/** The seed's **kwargs of rank(): extra context from the caller. */
export interface RankExtra {
  signal?: AbortSignal;
  [key: string]: unknown;
}

export interface Ranker {
  /** Returns the same images and predictions, each prediction with `priority` set (higher = more important, in [0, 1]). */
  rank(data: RankData, updateState: UpdateState, extra?: RankExtra): Promise<RankData>;
}

/**
 * What a batch ranker chose: a batch selected jointly, in selection order,
 * and a priority for every other candidate.
 */
export interface PoolSelection {
  /** Image ids of the selected batch, the first to annotate first. Annotated images are never selected. */
  selected: readonly string[];
  /**
   * The priority in [0, 1] of a candidate outside the batch (e.g. its
   * distance to the batch and the annotated images, normalized): the order
   * in which images after the batch are worth annotating. Default 0.
   */
  rest?(imageId: string): number;
}

/**
 * A batch-mode ranker: selects a batch jointly over the whole candidate pool
 * (diversity needs every candidate before any priority is known), where a
 * Ranker scores images one by one.
 *
 * `pool` yields the candidates batch by batch, each a RankData (a few hundred
 * images), exactly once: keep what you need of each in compact form (an
 * embedding row of a float32 matrix, a score) and drop the rest, so memory
 * grows with the pool by a few hundred bytes an image, never with its square.
 * Read the pool to its end, then return the selection. The caller turns the
 * selection order into priorities: the i-th of k selected images gets
 * 1 − i / 2k (so in (0.5, 1]), every other candidate 0.5 × rest(id) (below
 * every selected one), and each prediction of an image its image's priority.
 */
export interface BatchRanker {
  selectBatch(pool: AsyncIterable<RankData>, updateState: UpdateState, extra?: RankExtra): Promise<PoolSelection>;
}

export const isBatchRanker = (ranker: Ranker | BatchRanker): ranker is BatchRanker =>
  typeof (ranker as Partial<BatchRanker>).selectBatch === 'function';

/**
 * What verifyOptions may return (the seed's three forms): undefined/null if it
 * cannot tell, a boolean, or a detailed result whose `options` (auto-completed
 * or corrected) replace the given ones.
 */
export type VerifyOptionsResult =
  | undefined
  | null
  | boolean
  | { valid?: boolean; warnings?: string[]; errors?: string[]; options?: PluginOptions };

/**
 * How much of a model state verifyState sees at most: its first bytes. States
 * can be gigabytes and stream through the controller in chunks, never whole.
 */
export const STATE_HEAD_BYTES = 4 << 20;

/** Class-side members every plugin has or may have. */
export interface PluginStatics {
  /** Registry metadata: key, name, author, description, types, flags. */
  readonly metadata: PluginMetadataInput;
  /** Default options as pretty-printed JSON (see docs/custom-model.md for the GUI format). */
  getDefaultOptions?(): string;
  verifyOptions?(options: PluginOptions): VerifyOptionsResult | Promise<VerifyOptionsResult>;
  /**
   * Models, optional: can a state of `size` bytes beginning with `head` (its
   * first min(size, STATE_HEAD_BYTES) bytes) be a state of this model? Throw
   * with the reason where it cannot (another format, another model's state,
   * a header that contradicts itself or the size); return where it can or
   * the head cannot tell. The controller stores no state this throws for.
   */
  verifyState?(head: Uint8Array, size: number): void | Promise<void>;
}

export type ModelClass = PluginStatics & (new (ctx: PluginContext) => AIModel);

export type RankerClass = PluginStatics & (new (ctx: PluginContext) => Ranker | BatchRanker);

export type PluginClass = ModelClass | RankerClass;

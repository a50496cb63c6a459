/**
 * A test model that records what it is given and does small, checkable work:
 * its state is a vector of float64 weights; training adds per-image features;
 * averaging is the image-count-weighted mean. Options steer it:
 * { steps, stepMs, fail, failFrom, echo, readImages, failOn } — echo returns
 * the input state untouched; failFrom fails training from an input state whose
 * first weight (images trained so far) is at least that (e.g. the second
 * round); readImages reads every image through the built-in image loader
 * first (unreadable ones are reported, as built-in models do, and left out);
 * failOn fails inference of a shard holding an image whose path contains it.
 */
import type { ImageData } from '../../libs/gen/aide/v1/worker.js';
import type { PluginContext } from '../../libs/plugin/context.js';
import type { PluginMetadataInput } from '../../libs/plugin/metadata.js';
import type { InferenceData, InferenceResult, SegmentationPrediction, TrainingData } from '../../libs/plugin/data.js';
import type { AIModel, UpdateState } from '../../libs/plugin/plugin.js';
import type { FileSource } from '../../libs/plugin/context.js';
import { isUnreadable } from '../../libs/plugin/unreadable.js';
import { loadSizedImage } from '../../models/builtin/image-loader.js';

export interface FixtureCall {
  method: 'train' | 'inference' | 'average';
  project: string;
  stateBytes: number;
  images: string[];
  weights?: number[];
  /** train: the input state's weights (null: a fresh model). */
  input?: number[] | null;
  /** train: set when the model stopped early because its signal was aborted (a cancel reached it). */
  cancelled?: boolean;
}

export const fixtureCalls: FixtureCall[] = [];

export const WEIGHTS = 4;

/** A worker job header for the fixture model (project 'proj', one class 'c1'). */
export const fixtureJobHeader = (jobId: string, options: object) => ({
  jobId, project: 'proj', modelLibrary: 'test.fixture', modelOptionsJson: JSON.stringify(options),
  annotationType: 2, predictionType: 2, ignoreUnlabeled: false, traceparent: '',
  labelClasses: [{ id: 'c1', project: 'proj', name: 'A', color: '', index: 1 }],
});

/** n images of fixtureJobHeader's project, each with one point of class c1 at (x(i), 0.5). */
export const fixtureImages = (n: number, x: (i: number) => number): ImageData[] => Array.from({ length: n }, (_, i) => ({
  id: `i${i}`, filename: `${i}.jpg`,
  annotations: [{ id: `a${i}`, imageId: `i${i}`, labelClassId: 'c1', unsure: false, author: '', createdAt: undefined, geometry: { $case: 'point', value: { x: x(i), y: 0.5 } } }],
}));

/** Deterministic segmentation maps (classes 0–2, 2 logit planes) of a width×height image: large predictions in tests. */
export function fixtureSegmentation(width: number, height: number): SegmentationPrediction {
  const pixels = width * height;
  const labelMap = new Uint8Array(pixels);
  const confidenceMap = new Float32Array(pixels);
  const logitsMap = new Float32Array(2 * pixels);
  for (let i = 0; i < pixels; i++) {
    labelMap[i] = (i * 7) % 3;
    confidenceMap[i] = (i % 1000) / 1000;
    logitsMap[i] = i % 17;
    logitsMap[pixels + i] = -(i % 13);
  }
  return { width, height, labelMap, confidenceMap, logitsMap, numClasses: 2 };
}

export const encodeWeights = (w: readonly number[]): Uint8Array => new Uint8Array(Float64Array.from(w).buffer);
export const decodeWeights = (b: Uint8Array): number[] => Array.from(new Float64Array(new Uint8Array(b).buffer));

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve, reject) => {
  const onAbort = () => { clearTimeout(t); reject(signal!.reason); };
  const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
  signal?.addEventListener('abort', onAbort, { once: true });
});

export class FixtureModel implements AIModel {
  static readonly metadata: PluginMetadataInput = {
    kind: 'model',
    key: 'test.fixture',
    name: 'Fixture',
    author: 'tests',
    description: 'Records its inputs.',
    annotationType: ['labels', 'points', 'boundingBoxes'],
    predictionType: 'points',
    canAddLabelClasses: true,
  };

  static getDefaultOptions(): string {
    return JSON.stringify({ steps: 3, stepMs: 1 }, null, 2);
  }

  readonly #opts: {
    steps: number; stepMs: number; fail?: string; failFrom?: number; echo?: boolean; readImages?: boolean; failOn?: string;
    /** Predict fixtureSegmentation maps of this size for every image instead of a point. */
    segmentation?: { width: number; height: number };
  };
  readonly #project: string;
  readonly #files: FileSource;

  constructor(ctx: PluginContext) {
    this.#project = ctx.project;
    this.#files = ctx.fileServer;
    this.#opts = { steps: 3, stepMs: 1, ...(ctx.options as object) };
  }

  /** With readImages: why each image that cannot be read cannot (image id → reason); a failed read throws. */
  async #unreadable(images: Record<string, { filename: string }>): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    if (!this.#opts.readImages) return out;
    for (const [id, { filename }] of Object.entries(images)) {
      const image = await loadSizedImage(this.#files, filename, 8);
      if (isUnreadable(image)) out[id] = image.unreadable;
    }
    return out;
  }

  async #work(message: string, updateState: UpdateState, signal?: AbortSignal): Promise<void> {
    for (let i = 1; i <= this.#opts.steps; i++) {
      signal?.throwIfAborted();
      await sleep(this.#opts.stepMs, signal);
      if (this.#opts.fail && i === Math.ceil(this.#opts.steps / 2)) throw new Error(this.#opts.fail);
      updateState('PROGRESS', `${message} ${i}/${this.#opts.steps}`, i, this.#opts.steps);
    }
  }

  async train(stateDict: Uint8Array | null, data: TrainingData, updateState: UpdateState, signal?: AbortSignal) {
    const images = Object.keys(data.images);
    const input = stateDict && !this.#opts.echo ? decodeWeights(stateDict) : null;
    const call: FixtureCall = { method: 'train', project: this.#project, stateBytes: stateDict?.length ?? 0, images, input };
    fixtureCalls.push(call);
    try {
      await this.#work('training', updateState, signal);
    } catch (err) {
      if (signal?.aborted) call.cancelled = true;
      throw err;
    }
    if (this.#opts.echo) return stateDict ?? new Uint8Array();
    if (this.#opts.failFrom !== undefined && (input?.[0] ?? 0) >= this.#opts.failFrom) throw new Error(`refusing to train on from ${input?.[0]} images (failFrom)`);
    const unreadable = await this.#unreadable(data.images);
    // Features: images, annotations, sum of x, sum of y — so shards give different, checkable weights.
    const w = input ? [...input] : new Array<number>(WEIGHTS).fill(0);
    for (const [id, img] of Object.entries(data.images)) {
      if (id in unreadable) continue;
      w[0]! += 1;
      for (const a of img.annotations ?? []) {
        w[1]! += 1;
        if ('x' in a) { w[2]! += a.x; w[3]! += a.y; }
      }
    }
    return { state: encodeWeights(w), stats: { images: images.length, loss: 1 / (1 + images.length) }, unreadable };
  }

  async averageModelStates(stateDicts: Uint8Array[], updateState: UpdateState, weights?: number[], signal?: AbortSignal) {
    fixtureCalls.push({ method: 'average', project: this.#project, stateBytes: stateDicts.reduce((n, s) => n + s.length, 0), images: [], weights });
    await this.#work('averaging', updateState, signal);
    const ws = weights ?? stateDicts.map(() => 1);
    const total = ws.reduce((a, b) => a + b, 0);
    const vectors = stateDicts.map(decodeWeights);
    const mean = vectors[0]!.map((_, j) => vectors.reduce((acc, v, k) => acc + v[j]! * ws[k]!, 0) / total);
    return encodeWeights(mean);
  }

  async inference(stateDict: Uint8Array | null, data: InferenceData, updateState: UpdateState, signal?: AbortSignal): Promise<InferenceResult> {
    fixtureCalls.push({ method: 'inference', project: this.#project, stateBytes: stateDict?.length ?? 0, images: Object.keys(data.images) });
    await this.#work('predicting', updateState, signal);
    const unreadable = await this.#unreadable(data.images);
    const failOn = this.#opts.failOn;
    if (failOn && Object.values(data.images).some((image) => image.filename.includes(failOn))) throw new Error(`failing on ${failOn} (failOn)`);
    const classes = Object.keys(data.labelClasses);
    const result: InferenceResult = {};
    const segmentation = this.#opts.segmentation;
    for (const [i, id] of Object.keys(data.images).entries()) {
      if (id in unreadable) {
        result[id] = { predictions: [], unreadable: unreadable[id] };
        continue;
      }
      if (segmentation) {
        result[id] = { predictions: [fixtureSegmentation(segmentation.width, segmentation.height)] };
        continue;
      }
      const confidence = ((i * 37) % 100) / 100;
      result[id] = { predictions: [{ x: 0.5, y: 0.25, label: classes[i % classes.length], confidence, logits: [confidence, 1 - confidence] }] };
    }
    return result;
  }
}

/** The fixture registered for segmentation projects (its `segmentation` option sets the size of the maps it predicts). */
export class FixtureSegmentationModel extends FixtureModel {
  static override readonly metadata: PluginMetadataInput = {
    ...FixtureModel.metadata, key: 'test.fixture-segmentation', annotationType: 'segmentationMasks', predictionType: 'segmentationMasks',
  };
}

/**
 * Inference over large images window by window, one image open at a time:
 * windows slid over the whole image (slidingWindows), read and predicted a
 * chunk at a time, and handed with their network outputs, in order, to the
 * model, which merges them into the image's predictions. Any network can
 * predict the windows (WindowPredictor): the built-ins' replica pool
 * (poolPredictor), an ONNX Runtime session (models/onnx).
 */
import type { FileSource } from '../../../libs/plugin/context.js';
import { isUnreadable, type Unreadable } from '../../../libs/plugin/unreadable.js';
import type { ModelArch, Predictor } from '../builtin-model.js';
import { predictImages } from '../predict.js';
import { openLargeImage, type LargeImage } from './large-image.js';
import { slidingWindows, type PlannedWindow, type TilingGeometry } from './windows.js';

/** Windows read and predicted at a time (bounds memory). */
const WINDOW_CHUNK = 64;

export interface WindowOutput {
  window: PlannedWindow;
  /** The network's output for the window (Network.predict). */
  output: Float32Array;
}

/** A large image's size, and its sliding windows with their outputs, in order. */
export interface SlidImage {
  width: number;
  height: number;
  outputs: AsyncIterable<WindowOutput>;
}

/** A network that predicts windows: inputs of inputSize×inputSize RGB bytes → one output per input, in order. */
export interface WindowPredictor {
  inputSize: number;
  predict(images: readonly Uint8Array[]): Promise<Float32Array[]>;
  signal?: AbortSignal;
}

/** A built-in model's network on its replica pool as a WindowPredictor. */
export const poolPredictor = ({ pool, params, arch, signal }: Predictor<ModelArch>, batchSize: number): WindowPredictor => ({
  inputSize: arch.inputSize,
  predict: (images) => predictImages(pool, params, images, arch.inputSize, batchSize, signal),
  signal,
});

async function* windowOutputs(image: LargeImage, tiling: TilingGeometry, { inputSize, predict, signal }: WindowPredictor): AsyncGenerator<WindowOutput> {
  const plan = slidingWindows(image.width, image.height, tiling);
  for (let i = 0; i < plan.length; i += WINDOW_CHUNK) {
    signal?.throwIfAborted();
    const windows = plan.slice(i, i + WINDOW_CHUNK);
    const outputs = await predict(await image.read(windows, inputSize));
    for (const [k, window] of windows.entries()) yield { window, output: outputs[k]! };
  }
}

/** Each file's predictions, `merge`d from its windows' outputs, or why the file cannot be read. */
export async function predictLargeImages<P>(
  files: FileSource,
  filenames: readonly string[],
  tiling: TilingGeometry,
  predictor: WindowPredictor,
  merge: (image: SlidImage) => Promise<P[]>,
): Promise<(P[] | Unreadable)[]> {
  const out: (P[] | Unreadable)[] = [];
  for (const filename of filenames) {
    const image = await openLargeImage(files, filename);
    out.push(isUnreadable(image) ? image : await merge({ width: image.width, height: image.height, outputs: windowOutputs(image, tiling, predictor) }));
  }
  return out;
}

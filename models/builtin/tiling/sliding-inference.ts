/**
 * Inference over large images window by window, one image open at a time:
 * windows slid over the whole image (slidingWindows), read and predicted a
 * chunk at a time, and handed with their network outputs, in order, to the
 * model, which merges them into the image's predictions.
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

interface Sliding {
  tiling: TilingGeometry;
  batchSize: number;
}

async function* windowOutputs(image: LargeImage, { tiling, batchSize }: Sliding, { pool, params, arch, signal }: Predictor<ModelArch>): AsyncGenerator<WindowOutput> {
  const plan = slidingWindows(image.width, image.height, tiling);
  for (let i = 0; i < plan.length; i += WINDOW_CHUNK) {
    signal?.throwIfAborted();
    const windows = plan.slice(i, i + WINDOW_CHUNK);
    const outputs = await predictImages(pool, params, await image.read(windows, arch.inputSize), arch.inputSize, batchSize, signal);
    for (const [k, window] of windows.entries()) yield { window, output: outputs[k]! };
  }
}

/** Each file's predictions, `merge`d from its windows' outputs, or why the file cannot be read. */
export async function predictLargeImages<P>(
  files: FileSource,
  filenames: readonly string[],
  sliding: Sliding,
  predictor: Predictor<ModelArch>,
  merge: (image: SlidImage) => Promise<P[]>,
): Promise<(P[] | Unreadable)[]> {
  const out: (P[] | Unreadable)[] = [];
  for (const filename of filenames) {
    const image = await openLargeImage(files, filename);
    out.push(isUnreadable(image) ? image : await merge({ width: image.width, height: image.height, outputs: windowOutputs(image, sliding, predictor) }));
  }
  return out;
}

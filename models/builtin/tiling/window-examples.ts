/**
 * Training examples cut from large images, one image open at a time: per
 * image a window around each thing worth learning (an object, a labelled
 * area) plus random negatives (trainingWindows), each read as a network
 * input with its target in window terms. Windows are drawn from a seed per
 * image, so a round is reproducible.
 */
import seedrandom from 'seedrandom';
import type { FileSource, ImageWindow } from '../../../libs/plugin/context.js';
import { isUnreadable } from '../../../libs/plugin/unreadable.js';
import type { LoadedExamples, UsableImage } from '../builtin-model.js';
import { openLargeImage } from './large-image.js';
import type { TilingSettings } from './settings.js';
import { trainingWindows, type RelativeExtent } from './windows.js';

/** How a model's image targets become window targets. */
export interface WindowCutter<I, T> {
  /** What of an image's target the windows go around (image-relative extents). */
  around(target: I): readonly RelativeExtent[];
  /** The target as seen in `window` (source pixels of an imageWidth×imageHeight image). */
  inWindow(target: I, window: ImageWindow, imageWidth: number, imageHeight: number): T;
}

/** The examples of each readable image's windows, tagged with its id, and why the others are unreadable; `loaded` after each image. */
export async function windowExamples<I, T>(
  files: FileSource,
  images: readonly UsableImage<I>[],
  size: number,
  { tiling, seed }: { tiling: TilingSettings; seed: number },
  cutter: WindowCutter<I, T>,
  signal: AbortSignal | undefined,
  loaded: (done: number) => void,
): Promise<LoadedExamples<T>> {
  const out: LoadedExamples<T> = { examples: [], unreadable: {} };
  for (const [i, { id, filename, target }] of images.entries()) {
    signal?.throwIfAborted();
    const image = await openLargeImage(files, filename);
    if (isUnreadable(image)) {
      out.unreadable[id] = image.unreadable;
    } else {
      const windows = trainingWindows(image.width, image.height, cutter.around(target), tiling.size, tiling.negatives, seedrandom(`${seed}:windows:${filename}`));
      const pixels = await image.read(windows, size);
      windows.forEach((w, k) => out.examples.push({ filename, image: pixels[k]!, target: cutter.inWindow(target, w, image.width, image.height) }));
    }
    loaded(i + 1);
  }
  return out;
}

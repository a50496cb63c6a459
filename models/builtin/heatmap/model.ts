/**
 * What the detector and the point model share on top of BuiltinModel: the
 * heatmap network, annotations as objects (Instance) with their class, and
 * Gaussian heatmap targets. Every training image counts, one without objects
 * of a known class as background only.
 *
 * With tiling on (tiling/), images are cut into windows, each resized to the
 * network input: training takes a window around each object plus random
 * negatives, with the objects in window coordinates; inference slides
 * windows over the whole image, keeps each window's predictions whose centre
 * its core owns (tiling/placement.ts), in whole-image coordinates, then
 * suppresses near-duplicates across the image. One image is open at a time.
 */
import seedrandom from 'seedrandom';
import type { Annotation, BoundingBoxPrediction, PointPrediction } from '../../../libs/plugin/data.js';
import { BuiltinModel, type Predictor, type TaggedExample, type UsableImage } from '../builtin-model.js';
import { predictImages } from '../predict.js';
import { openLargeImage } from '../tiling/large-image.js';
import { ownedPredictions, placeInWindow } from '../tiling/placement.js';
import { slidingWindows, trainingWindows } from '../tiling/windows.js';
import { HEATMAP_HEAD, HEATMAP_NETWORK, heatmapSpecs, type HeatmapArch } from './network.js';
import type { HeatmapSettings } from './settings.js';
import { heatmapTargets, type Instance } from './targets.js';

/** Windows read and predicted at a time during tiled inference (bounds memory). */
const WINDOW_CHUNK = 64;

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

type Located = PointPrediction | BoundingBoxPrediction;

export abstract class HeatmapModel<S extends HeatmapSettings> extends BuiltinModel<readonly Instance[], HeatmapArch, S> {
  protected abstract readonly kind: HeatmapArch['kind'];
  protected readonly networkModule = HEATMAP_NETWORK;
  protected readonly head = HEATMAP_HEAD;

  protected abstract override predictions(output: Float32Array, arch: HeatmapArch, classes: readonly string[], known: readonly boolean[]): Located[];

  /**
   * A large image's predictions gathered from its windows (image-relative)
   * without near-duplicates; `inputScale` = image pixels per input pixel.
   */
  protected abstract suppressAcrossWindows(predictions: Located[], imageWidth: number, imageHeight: number, inputScale: number): Located[];

  protected specs(arch: HeatmapArch) {
    return heatmapSpecs(arch);
  }

  protected freshArch(classes: number): HeatmapArch {
    const { inputSize, width, depth } = this.settings;
    return { inputSize, width, depth, classes, kind: this.kind };
  }

  /** Annotations of known classes with a position (boxes: and a size; the point model takes a box's centre). */
  protected target(annotations: readonly Annotation[], index: ReadonlyMap<string, number>): Instance[] {
    return annotations.flatMap((a) => {
      const classIndex = 'label' in a && a.label ? index.get(a.label) : undefined;
      if (classIndex === undefined || !('x' in a) || !finite(a.x) || !finite(a.y)) return [];
      if (this.kind === 'points') return [{ x: a.x, y: a.y, classIndex }];
      const { width, height } = a as { width?: unknown; height?: unknown };
      return finite(width) && finite(height) && width > 0 && height > 0 ? [{ x: a.x, y: a.y, width, height, classIndex }] : [];
    });
  }

  protected encoder(arch: HeatmapArch) {
    return heatmapTargets(arch);
  }

  /** Tiling: a window around each object and some negatives per image, objects in window coordinates. */
  protected override async examples(images: readonly UsableImage<readonly Instance[]>[], size: number, signal: AbortSignal | undefined, loaded: (done: number) => void) {
    const { tiling, seed } = this.settings;
    if (!tiling.enabled) return super.examples(images, size, signal, loaded);
    const out: TaggedExample<readonly Instance[]>[] = [];
    for (const [i, { id, filename, target }] of images.entries()) {
      signal?.throwIfAborted();
      const image = await openLargeImage(this.ctx.fileServer, filename);
      if (image) {
        const extents = target.map((o) => ({ x: o.x, y: o.y, width: o.width ?? 0, height: o.height ?? 0 }));
        const windows = trainingWindows(image.width, image.height, extents, tiling.size, tiling.negatives, seedrandom(`${seed}:windows:${id}`));
        const pixels = await image.read(windows, size);
        windows.forEach((w, k) => out.push({
          id, image: pixels[k]!,
          target: target.flatMap((o) => placeInWindow(o, w, image.width, image.height) ?? []),
        }));
      }
      loaded(i + 1);
    }
    return out;
  }

  /** Tiling: each image window by window, one image at a time. */
  protected override async predictFiles(filenames: readonly string[], predictor: Predictor<HeatmapArch>) {
    if (!this.settings.tiling.enabled) return super.predictFiles(filenames, predictor);
    const out: Located[][] = [];
    for (const filename of filenames) out.push(await this.predictLarge(filename, predictor));
    return out;
  }

  private async predictLarge(filename: string, { pool, params, arch, classes, known, signal }: Predictor<HeatmapArch>): Promise<Located[]> {
    const image = await openLargeImage(this.ctx.fileServer, filename);
    if (!image) return [];
    const { tiling, batchSize } = this.settings;
    const plan = slidingWindows(image.width, image.height, tiling);
    const found: Located[] = [];
    for (let i = 0; i < plan.length; i += WINDOW_CHUNK) {
      signal?.throwIfAborted();
      const windows = plan.slice(i, i + WINDOW_CHUNK);
      const outputs = await predictImages(pool, params, await image.read(windows, arch.inputSize), arch.inputSize, batchSize, signal);
      windows.forEach((w, k) => found.push(...ownedPredictions(w, this.predictions(outputs[k]!, arch, classes, known), image.width, image.height, tiling.overlap)));
    }
    return this.suppressAcrossWindows(found, image.width, image.height, Math.min(tiling.size, image.width, image.height) / arch.inputSize);
  }
}

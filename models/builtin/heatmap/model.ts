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
import type { Annotation, BoundingBoxPrediction, PointPrediction } from '../../../libs/plugin/data.js';
import { BuiltinModel, type Predictor, type UsableImage } from '../builtin-model.js';
import { ownedPredictions, placeInWindow } from '../tiling/placement.js';
import { poolPredictor, predictLargeImages } from '../tiling/sliding-inference.js';
import { windowExamples, type WindowCutter } from '../tiling/window-examples.js';
import { HEATMAP_HEAD, HEATMAP_NETWORK, heatmapSpecs, type HeatmapArch } from './network.js';
import type { HeatmapSettings } from './settings.js';
import { heatmapTargets, type Instance } from './targets.js';

/** Tiled training: a window around each object, the objects in window coordinates. */
const OBJECT_WINDOWS: WindowCutter<readonly Instance[], readonly Instance[]> = {
  around: (objects) => objects.map((o) => ({ x: o.x, y: o.y, width: o.width ?? 0, height: o.height ?? 0 })),
  inWindow: (objects, window, width, height) => objects.flatMap((o) => placeInWindow(o, window, width, height) ?? []),
};

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
    if (!this.settings.tiling.enabled) return super.examples(images, size, signal, loaded);
    return windowExamples(this.ctx.fileServer, images, size, this.settings, OBJECT_WINDOWS, signal, loaded);
  }

  /** Tiling: each image window by window, one image at a time; predictions owned by each window's core, near-duplicates suppressed. */
  protected override async predictFiles(filenames: readonly string[], predictor: Predictor<HeatmapArch>) {
    const { tiling } = this.settings;
    if (!tiling.enabled) return super.predictFiles(filenames, predictor);
    const { arch, classes, known } = predictor;
    return predictLargeImages(this.ctx.fileServer, filenames, tiling, poolPredictor(predictor, this.settings.batchSize), async ({ width, height, outputs }) => {
      const found: Located[] = [];
      for await (const { window, output } of outputs) found.push(...ownedPredictions(window, this.predictions(output, arch, classes, known), width, height, tiling.overlap));
      return this.suppressAcrossWindows(found, width, height, Math.min(tiling.size, width, height) / arch.inputSize);
    });
  }
}

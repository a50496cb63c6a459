/**
 * What the detector and the point model share on top of BuiltinModel: the
 * heatmap network, annotations as objects (Instance) with their class, and
 * Gaussian heatmap targets. Every training image counts, one without objects
 * of a known class as background only.
 */
import type { Annotation } from '../../../libs/plugin/data.js';
import { BuiltinModel } from '../builtin-model.js';
import { HEATMAP_HEAD, HEATMAP_NETWORK, heatmapSpecs, type HeatmapArch } from './network.js';
import type { HeatmapSettings } from './settings.js';
import { heatmapTargets, type Instance } from './targets.js';

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

export abstract class HeatmapModel<S extends HeatmapSettings> extends BuiltinModel<readonly Instance[], HeatmapArch, S> {
  protected abstract readonly kind: HeatmapArch['kind'];
  protected readonly networkModule = HEATMAP_NETWORK;
  protected readonly head = HEATMAP_HEAD;

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
}

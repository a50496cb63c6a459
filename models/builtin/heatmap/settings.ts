/**
 * Options of the heatmap models: the common fields (model-settings.ts), an
 * inference group (score threshold, most objects per image, and the model's
 * own suppression field) and tiling for large images (tiling/settings.ts).
 */
import type { PluginOptions } from '../../../libs/plugin/context.js';
import type { Field, FieldValue } from '../option-fields.js';
import { TILING_FIELDS, TILING_GROUP, tilingSettings, withTilingErrors, type TilingSettings } from '../tiling/settings.js';
import { defaultOptionsJson, MODEL_GROUPS, modelFields, resolveModelSettings, type Defaults, type ModelSettings, type Resolved } from '../model-settings.js';

export interface HeatmapSettings extends ModelSettings {
  scoreThreshold: number;
  /** Per window when tiling. */
  maxObjects: number;
  tiling: TilingSettings;
}

const GROUPS = { ...MODEL_GROUPS, inference: 'Inference', ...TILING_GROUP };

export interface HeatmapOptions<S extends HeatmapSettings> {
  fields: Field[];
  defaultOptions(): string;
  resolve(options: PluginOptions): Resolved<S>;
}

/**
 * The option table of a heatmap model: `defaults` for the common fields,
 * `scoreThreshold`'s default, and `own` inference fields read by `extra`.
 */
export function heatmapOptions<S extends HeatmapSettings>(
  defaults: Defaults & { scoreThreshold: number },
  own: Field[],
  extra: (values: Record<string, FieldValue>) => Omit<S, keyof HeatmapSettings>,
): HeatmapOptions<S> {
  const fields: Field[] = [
    ...modelFields(defaults),
    { group: 'inference', key: 'scoreThreshold', name: 'Score threshold', description: 'Objects scoring less are not predicted.', type: 'float', min: 0.01, max: 0.99, value: defaults.scoreThreshold },
    { group: 'inference', key: 'maxObjects', name: 'Most objects predicted per image', description: 'Per window when tiling.', type: 'int', min: 1, max: 1000, value: 100 },
    ...own,
    ...TILING_FIELDS,
  ];
  return {
    fields,
    defaultOptions: () => defaultOptionsJson(GROUPS, fields),
    resolve: (options) => withTilingErrors(resolveModelSettings<S>(GROUPS, fields, options, (values) => ({
      scoreThreshold: values.scoreThreshold as number,
      maxObjects: values.maxObjects as number,
      tiling: tilingSettings(values),
      ...extra(values),
    }) as Omit<S, keyof ModelSettings>)),
  };
}

/**
 * The segmentation model's options: U-Net shape (model-settings.ts's network
 * fields, depth = levels down and up), what predictions carry, tiling for
 * large images (tiling/settings.ts), plus the shared training, augmentation
 * and runtime fields. Defaults are sized for 2 CPU cores.
 */
import type { PluginOptions } from '../../../libs/plugin/context.js';
import { defaultOptionsJson as optionsJson, MODEL_GROUPS, modelFields, resolveModelSettings, type ModelSettings, type Resolved } from '../model-settings.js';
import type { Field, Groups } from '../option-fields.js';
import { TILING_FIELDS, TILING_GROUP, tilingSettings, withTilingErrors, type TilingSettings } from '../tiling/settings.js';

export interface SegmentationSettings extends ModelSettings {
  /** Whether predictions carry the per-class probability maps (C×H×W floats per image). */
  logitsMaps: boolean;
  tiling: TilingSettings;
}

const GROUPS: Groups = { ...MODEL_GROUPS, output: 'Predictions', ...TILING_GROUP };

const FIELDS: Field[] = [
  ...modelFields({ inputSize: 64, width: 8, depth: 2, maxDepth: 5, epochs: 10, batchSize: 8, learningRate: 0.003 }),
  {
    group: 'output', key: 'logitsMaps', name: 'Per-class probability maps',
    description: 'Predictions carry every class\'s probability per pixel (the rankers\' richest input); off saves C×width×height floats per image.',
    type: 'bool', value: true,
  },
  ...TILING_FIELDS,
];

export const defaultOptionsJson = (): string => optionsJson(GROUPS, FIELDS);

export const resolveSettings = (options: PluginOptions): Resolved<SegmentationSettings> =>
  withTilingErrors(resolveModelSettings<SegmentationSettings>(GROUPS, FIELDS, options, (values) => ({ logitsMaps: values.logitsMaps as boolean, tiling: tilingSettings(values) })));

/**
 * The segmentation model's options: U-Net shape, what predictions carry,
 * plus the shared training, augmentation and runtime fields
 * (model-settings.ts). Defaults are sized for 2 CPU cores.
 */
import type { PluginOptions } from '../../../libs/plugin/context.js';
import { commonFields, defaultOptionsJson as optionsJson, inputSizeError, resolveModelSettings, type CommonSettings, type ModelFields } from '../model-settings.js';

export interface SegmentationSettings extends CommonSettings {
  inputSize: number;
  width: number;
  depth: number;
  /** Whether predictions carry the per-class probability maps (C×H×W floats per image). */
  logitsMaps: boolean;
}

const FIELDS: ModelFields = {
  groups: { network: 'Network', output: 'Predictions' },
  fields: [
    { group: 'network', key: 'inputSize', name: 'Input size (pixels)', description: 'Images are resized to a square of this side, and predictions back to the image size; a multiple of 2^depth.', type: 'int', min: 16, max: 1024, value: 64 },
    { group: 'network', key: 'width', name: 'Width (channels of the first level)', type: 'int', min: 2, max: 64, value: 8 },
    { group: 'network', key: 'depth', name: 'Depth (U-Net levels down and up)', type: 'int', min: 1, max: 5, value: 2 },
    {
      group: 'output', key: 'logitsMaps', name: 'Per-class probability maps',
      description: 'Predictions carry every class\'s probability per pixel (the rankers\' richest input); off saves C×width×height floats per image.',
      type: 'bool', value: true,
    },
    ...commonFields({ epochs: 10, batchSize: 8, learningRate: 0.003 }),
  ],
};

export const defaultOptionsJson = (): string => optionsJson(FIELDS);

export interface ResolvedSettings {
  settings: SegmentationSettings;
  warnings: string[];
  errors: string[];
  options: PluginOptions;
}

export function resolveSettings(options: PluginOptions): ResolvedSettings {
  const { values, common, warnings, errors, options: completed } = resolveModelSettings(FIELDS, options);
  const num = (key: string) => values[key] as number;
  const settings: SegmentationSettings = { ...common, inputSize: num('inputSize'), width: num('width'), depth: num('depth'), logitsMaps: values.logitsMaps as boolean };
  const sizeError = inputSizeError(settings.inputSize, settings.depth);
  if (sizeError) errors.push(sizeError);
  return { settings, warnings, errors, options: completed };
}

/**
 * The classifier's options: network shape plus the shared training,
 * augmentation and runtime fields (model-settings.ts), with their ranges and
 * defaults (sized for 2 CPU cores: a few hundred images train in well under
 * a minute).
 */
import type { PluginOptions } from '../../../libs/plugin/context.js';
import { commonFields, defaultOptionsJson as optionsJson, inputSizeError, resolveModelSettings, type CommonSettings, type ModelFields } from '../model-settings.js';

export interface ClassifierSettings extends CommonSettings {
  inputSize: number;
  width: number;
  depth: number;
}

const FIELDS: ModelFields = {
  groups: { network: 'Network' },
  fields: [
    { group: 'network', key: 'inputSize', name: 'Input size (pixels)', description: 'Images are resized to a square of this side; a multiple of 2^depth.', type: 'int', min: 16, max: 512, value: 64 },
    { group: 'network', key: 'width', name: 'Width (channels of the first stage)', type: 'int', min: 4, max: 128, value: 16 },
    { group: 'network', key: 'depth', name: 'Depth (conv + pool stages)', type: 'int', min: 1, max: 6, value: 3 },
    ...commonFields({ epochs: 10, batchSize: 16, learningRate: 0.003 }),
  ],
};

export const defaultOptionsJson = (): string => optionsJson(FIELDS);

export interface ResolvedSettings {
  settings: ClassifierSettings;
  warnings: string[];
  errors: string[];
  options: PluginOptions;
}

export function resolveSettings(options: PluginOptions): ResolvedSettings {
  const { values, common, warnings, errors, options: completed } = resolveModelSettings(FIELDS, options);
  const settings: ClassifierSettings = { ...common, inputSize: values.inputSize as number, width: values.width as number, depth: values.depth as number };
  const sizeError = inputSizeError(settings.inputSize, settings.depth);
  if (sizeError) errors.push(sizeError);
  return { settings, warnings, errors, options: completed };
}

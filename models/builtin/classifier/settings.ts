/**
 * The classifier's options: the common network, training, augmentation and
 * runtime fields (model-settings.ts) with defaults sized for 2 CPU cores: a
 * few hundred images train in well under a minute.
 */
import type { PluginOptions } from '../../../libs/plugin/context.js';
import { MODEL_GROUPS, modelFields, resolveModelSettings, type ModelSettings, type Resolved } from '../model-settings.js';

export type ClassifierSettings = ModelSettings;

export const CLASSIFIER_GROUPS = MODEL_GROUPS;

export const CLASSIFIER_FIELDS = modelFields({ inputSize: 64, width: 16, depth: 3, maxDepth: 6, epochs: 10, batchSize: 16, learningRate: 0.003 });

export const resolveSettings = (options: PluginOptions): Resolved<ClassifierSettings> =>
  resolveModelSettings<ClassifierSettings>(CLASSIFIER_GROUPS, CLASSIFIER_FIELDS, options, () => ({}));

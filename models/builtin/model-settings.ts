/**
 * The options every built-in network model shares (training, augmentation,
 * runtime), as option fields; each model adds its own network group. A model
 * passes its own defaults where its workload differs (epochs, batch size).
 */
import type { PluginOptions } from '../../libs/plugin/context.js';
import type { BackendName } from '../../libs/tf/backend.js';
import type { Augmentations } from './augment.js';
import { resolveFields, toOptions, type Field, type FieldValue, type Groups } from './option-fields.js';

export interface CommonSettings {
  epochs: number;
  batchSize: number;
  learningRate: number;
  weightDecay: number;
  validationFraction: number;
  seed: number;
  augment: Augmentations;
  threads: number;
  backend: 'auto' | BackendName;
}

export interface TrainingDefaults {
  epochs: number;
  batchSize: number;
  learningRate: number;
}

export const COMMON_GROUPS: Groups = { training: 'Training', augmentation: 'Augmentation', runtime: 'Runtime' };

export function commonFields({ epochs, batchSize, learningRate }: TrainingDefaults): Field[] {
  return [
    { group: 'training', key: 'epochs', name: 'Epochs per training round', type: 'int', min: 1, max: 1000, value: epochs },
    { group: 'training', key: 'batchSize', name: 'Batch size', type: 'int', min: 1, max: 512, value: batchSize },
    { group: 'training', key: 'learningRate', name: 'Learning rate (Adam)', type: 'float', min: 1e-6, max: 1, value: learningRate },
    { group: 'training', key: 'weightDecay', name: 'Weight decay', type: 'float', min: 0, max: 0.1, value: 0.0001 },
    { group: 'training', key: 'validationFraction', name: 'Held-out fraction for statistics', type: 'float', min: 0, max: 0.5, value: 0.1 },
    { group: 'training', key: 'seed', name: 'Random seed', type: 'int', min: 0, max: 2 ** 31 - 1, value: 0 },
    { group: 'augmentation', key: 'flip', name: 'Random horizontal flips', type: 'bool', value: true },
    { group: 'augmentation', key: 'crop', name: 'Random crop (max fraction of a side removed)', type: 'float', min: 0, max: 0.5, value: 0.1 },
    { group: 'augmentation', key: 'colourJitter', name: 'Colour jitter (brightness/contrast strength)', type: 'float', min: 0, max: 0.5, value: 0.1 },
    { group: 'runtime', key: 'threads', name: 'Worker threads (0 = one per core)', type: 'int', min: 0, max: 64, value: 0 },
    {
      group: 'runtime', key: 'backend', name: 'TensorFlow.js backend', type: 'select', value: 'auto',
      choices: { auto: 'Best available', 'tensorflow-gpu': 'Native, GPU', tensorflow: 'Native, CPU', wasm: 'WebAssembly', cpu: 'Plain JavaScript (slow)' },
    },
  ];
}

export interface ModelFields {
  /** The model's own groups (e.g. network), shown before the common ones. */
  groups: Groups;
  /** The model's own fields, then commonFields(...). */
  fields: Field[];
}

export interface ResolvedModelSettings {
  values: Record<string, FieldValue>;
  common: CommonSettings;
  warnings: string[];
  errors: string[];
  options: PluginOptions;
}

/** All groups of a model, its own first. */
export const allGroups = (own: Groups): Groups => ({ ...own, ...COMMON_GROUPS });

export const defaultOptionsJson = ({ groups, fields }: ModelFields): string => JSON.stringify(toOptions(allGroups(groups), fields), null, 2);

/** Reads and checks every field; the common settings typed, the model's own left in `values`. */
export function resolveModelSettings({ groups, fields }: ModelFields, options: PluginOptions): ResolvedModelSettings {
  const { values, warnings, errors, options: completed } = resolveFields(allGroups(groups), fields, options);
  // resolveFields checked every value against its field's type.
  const num = (key: string) => values[key] as number;
  const common: CommonSettings = {
    epochs: num('epochs'), batchSize: num('batchSize'), learningRate: num('learningRate'), weightDecay: num('weightDecay'),
    validationFraction: num('validationFraction'), seed: num('seed'),
    augment: { flip: values.flip as boolean, crop: num('crop'), colourJitter: num('colourJitter') },
    threads: num('threads'), backend: values.backend as CommonSettings['backend'],
  };
  return { values, common, warnings, errors, options: completed };
}

/** Every pooling stage halves the image, so the input side must divide evenly: the error, or undefined. */
export function inputSizeError(inputSize: number, depth: number): string | undefined {
  return inputSize % 2 ** depth === 0 ? undefined : `network.inputSize ${inputSize} must be a multiple of 2^depth = ${2 ** depth}`;
}

/**
 * The classifier's options: network shape, training, augmentation and
 * runtime, with their ranges and defaults (sized for 2 CPU cores: a few
 * hundred images train in well under a minute).
 */
import type { PluginOptions } from '../../../libs/plugin/context.js';
import type { BackendName } from '../../../libs/tf/backend.js';
import type { Augmentations } from '../augment.js';
import { resolveFields, toOptions, type Field, type Groups } from '../option-fields.js';

export interface ClassifierSettings {
  inputSize: number;
  width: number;
  depth: number;
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

const GROUPS: Groups = { network: 'Network', training: 'Training', augmentation: 'Augmentation', runtime: 'Runtime' };

const FIELDS: Field[] = [
  { group: 'network', key: 'inputSize', name: 'Input size (pixels)', description: 'Images are resized to a square of this side; a multiple of 2^depth.', type: 'int', min: 16, max: 512, value: 64 },
  { group: 'network', key: 'width', name: 'Width (channels of the first stage)', type: 'int', min: 4, max: 128, value: 16 },
  { group: 'network', key: 'depth', name: 'Depth (conv + pool stages)', type: 'int', min: 1, max: 6, value: 3 },
  { group: 'training', key: 'epochs', name: 'Epochs per training round', type: 'int', min: 1, max: 1000, value: 10 },
  { group: 'training', key: 'batchSize', name: 'Batch size', type: 'int', min: 1, max: 512, value: 16 },
  { group: 'training', key: 'learningRate', name: 'Learning rate (Adam)', type: 'float', min: 1e-6, max: 1, value: 0.003 },
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

export const defaultOptionsJson = (): string => JSON.stringify(toOptions(GROUPS, FIELDS), null, 2);

export interface ResolvedSettings {
  settings: ClassifierSettings;
  warnings: string[];
  errors: string[];
  options: PluginOptions;
}

export function resolveSettings(options: PluginOptions): ResolvedSettings {
  const { values, warnings, errors, options: completed } = resolveFields(GROUPS, FIELDS, options);
  // resolveFields checked every value against its field's type.
  const num = (key: string) => values[key] as number;
  const settings: ClassifierSettings = {
    inputSize: num('inputSize'), width: num('width'), depth: num('depth'),
    epochs: num('epochs'), batchSize: num('batchSize'), learningRate: num('learningRate'), weightDecay: num('weightDecay'),
    validationFraction: num('validationFraction'), seed: num('seed'),
    augment: { flip: values.flip as boolean, crop: num('crop'), colourJitter: num('colourJitter') },
    threads: num('threads'), backend: values.backend as ClassifierSettings['backend'],
  };
  // Every stage halves the image, so the input must divide evenly.
  if (settings.inputSize % 2 ** settings.depth !== 0) {
    errors.push(`network.inputSize ${settings.inputSize} must be a multiple of 2^depth = ${2 ** settings.depth}`);
  }
  return { settings, warnings, errors, options: completed };
}

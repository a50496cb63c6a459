/**
 * The options every built-in model has — network shape, training,
 * augmentation, runtime — as option fields with per-model defaults, and
 * their resolution into settings. A model adds its own fields (e.g. an
 * inference group) and checks.
 */
import type { PluginOptions } from '../../libs/plugin/context.js';
import type { BackendName } from '../../libs/tf/backend.js';
import type { Augmentations } from './augment.js';
import type { LearningRateSchedule } from './train-loop.js';
import { resolveFields, toOptions, type Field, type FieldValue, type Groups } from './option-fields.js';

export interface ModelSettings {
  inputSize: number;
  width: number;
  depth: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  schedule: LearningRateSchedule;
  weightDecay: number;
  validationFraction: number;
  seed: number;
  augment: Augmentations;
  threads: number;
  backend: 'auto' | BackendName;
}

export const MODEL_GROUPS: Groups = { network: 'Network', training: 'Training', augmentation: 'Augmentation', runtime: 'Runtime' };

/** Defaults a model chooses (sized for 2 CPU cores), the deepest network it allows, its schedule (default constant) and shift (default 0). */
export type Defaults = Pick<ModelSettings, 'inputSize' | 'width' | 'depth' | 'epochs' | 'batchSize' | 'learningRate'> & { maxDepth: number; schedule?: LearningRateSchedule; shift?: number };

export const modelFields = (d: Defaults): Field[] => [
  { group: 'network', key: 'inputSize', name: 'Input size (pixels)', description: 'Images are resized to a square of this side; a multiple of 2^depth.', type: 'int', min: 16, max: 512, value: d.inputSize },
  { group: 'network', key: 'width', name: 'Width (channels of the first stage)', type: 'int', min: 4, max: 128, value: d.width },
  { group: 'network', key: 'depth', name: 'Depth (conv + pool stages)', type: 'int', min: 1, max: d.maxDepth, value: d.depth },
  { group: 'training', key: 'epochs', name: 'Epochs per training round', type: 'int', min: 1, max: 1000, value: d.epochs },
  { group: 'training', key: 'batchSize', name: 'Batch size', type: 'int', min: 1, max: 512, value: d.batchSize },
  { group: 'training', key: 'learningRate', name: 'Learning rate (Adam)', type: 'float', min: 1e-6, max: 1, value: d.learningRate },
  {
    group: 'training', key: 'schedule', name: 'Learning-rate schedule', type: 'select', value: d.schedule ?? 'constant',
    description: 'Anneal: the full rate for four fifths of the run, then down to zero, so a run ends in small steps instead of wherever its last full steps left it.',
    choices: { anneal: 'Constant, then down to zero over the last fifth', cosine: 'Cosine decay to zero over the whole run', constant: 'Constant' },
  },
  { group: 'training', key: 'weightDecay', name: 'Weight decay', type: 'float', min: 0, max: 0.1, value: 0.0001 },
  { group: 'training', key: 'validationFraction', name: 'Held-out fraction for statistics', type: 'float', min: 0, max: 0.5, value: 0.1 },
  { group: 'training', key: 'seed', name: 'Random seed', type: 'int', min: 0, max: 2 ** 31 - 1, value: 0 },
  { group: 'augmentation', key: 'flip', name: 'Random horizontal flips', type: 'bool', value: true },
  { group: 'augmentation', key: 'crop', name: 'Random crop (max fraction of a side removed)', type: 'float', min: 0, max: 0.5, value: 0.1 },
  { group: 'augmentation', key: 'shift', name: 'Random shift (max fraction of a side moved)', type: 'float', min: 0, max: 0.5, value: d.shift ?? 0 },
  { group: 'augmentation', key: 'colourJitter', name: 'Colour jitter (brightness/contrast strength)', type: 'float', min: 0, max: 0.5, value: 0.1 },
  { group: 'runtime', key: 'threads', name: 'Worker threads (0 = one per core)', type: 'int', min: 0, max: 64, value: 0 },
  {
    group: 'runtime', key: 'backend', name: 'TensorFlow.js backend', type: 'select', value: 'auto',
    choices: { auto: 'Best available', 'tensorflow-gpu': 'Native, GPU', tensorflow: 'Native, CPU', wasm: 'WebAssembly', cpu: 'Plain JavaScript (slow)' },
  },
];

export interface Resolved<S> {
  settings: S;
  warnings: string[];
  /** One per offending field, naming it as group.key. */
  errors: string[];
  /** The options completed with defaults. */
  options: PluginOptions;
}

/** The settings of options that resolved without errors; a model constructed with unusable options throws them. */
export function validSettings<S>({ settings, errors }: Resolved<S>): S {
  if (errors.length > 0) throw new Error(errors.join('; '));
  return settings;
}

/**
 * Reads `fields` from `options`: the common settings plus whatever `extra`
 * makes of the model's own values (checked against their fields already).
 */
export function resolveModelSettings<S extends ModelSettings>(
  groups: Groups,
  fields: readonly Field[],
  options: PluginOptions,
  extra: (values: Record<string, FieldValue>) => Omit<S, keyof ModelSettings>,
): Resolved<S> {
  const { values, warnings, errors, options: completed } = resolveFields(groups, fields, options);
  const num = (key: string) => values[key] as number;
  const common: ModelSettings = {
    inputSize: num('inputSize'), width: num('width'), depth: num('depth'),
    epochs: num('epochs'), batchSize: num('batchSize'), learningRate: num('learningRate'),
    schedule: values.schedule as LearningRateSchedule, weightDecay: num('weightDecay'),
    validationFraction: num('validationFraction'), seed: num('seed'),
    augment: { flip: values.flip as boolean, crop: num('crop'), shift: num('shift'), colourJitter: num('colourJitter') },
    threads: num('threads'), backend: values.backend as ModelSettings['backend'],
  };
  // Every stage halves the image, so the input must divide evenly.
  if (common.inputSize % 2 ** common.depth !== 0) {
    errors.push(`network.inputSize ${common.inputSize} must be a multiple of 2^depth = ${2 ** common.depth}`);
  }
  return { settings: { ...common, ...extra(values) } as S, warnings, errors, options: completed };
}

export const defaultOptionsJson = (groups: Groups, fields: readonly Field[]): string => JSON.stringify(toOptions(groups, fields), null, 2);

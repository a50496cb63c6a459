/**
 * Options of the ONNX plugins: inference (detectors: score threshold, NMS,
 * most objects), large images (the built-ins' tiling group), runtime
 * (execution provider, threads, batch size), a trainable head's training
 * fields, and for the plugins that predict the model's own classes
 * classMapping — model classes → project label classes (class-mapping.ts),
 * a plain object beside the GUI groups.
 */
import type { PluginOptions } from '../../libs/plugin/context.js';
import type { Resolved } from '../builtin/model-settings.js';
import { resolveFields, toOptions, type Field, type FieldValue } from '../builtin/option-fields.js';
import { TILING_FIELDS, TILING_GROUP, tilingSettings, withTilingErrors, type TilingSettings } from '../builtin/tiling/settings.js';
import { CLASS_MAPPING, type ClassMappingOptions } from './class-mapping.js';
import type { ProviderChoice } from './runtime.js';

export interface OnnxSettings {
  provider: ProviderChoice;
  threads: number;
  batchSize: number;
}

/** Settings of a plugin that predicts the model's own classes, mapped to the project's. */
export interface MappedSettings extends OnnxSettings {
  classMapping: ClassMappingOptions;
}

export interface DetectorSettings extends MappedSettings {
  scoreThreshold: number;
  nmsIoU: number;
  /** Per image, or per window when tiling. */
  maxObjects: number;
  tiling: TilingSettings;
}

export interface HeadSettings extends OnnxSettings {
  epochs: number;
  learningRate: number;
  weightDecay: number;
  validationFraction: number;
  seed: number;
}

const RUNTIME_FIELDS: Field[] = [
  {
    group: 'runtime', key: 'provider', name: 'ONNX Runtime execution provider', type: 'select', value: 'auto',
    description: 'Best available: CUDA where onnxruntime-node has its CUDA provider (GPU images), else the CPU.',
    choices: { auto: 'Best available', cuda: 'CUDA (GPU)', cpu: 'CPU' },
  },
  { group: 'runtime', key: 'threads', name: 'CPU threads (0 = one per core)', type: 'int', min: 0, max: 256, value: 0 },
  { group: 'runtime', key: 'batchSize', name: 'Images per run', description: 'A graph exported for a fixed batch size runs that many at a time instead.', type: 'int', min: 1, max: 256, value: 8 },
];

const DETECTOR_FIELDS: Field[] = [
  { group: 'inference', key: 'scoreThreshold', name: 'Score threshold', description: 'Objects scoring less (YOLOv5: objectness × class score) are not predicted.', type: 'float', min: 0.001, max: 0.99, value: 0.2 },
  { group: 'inference', key: 'nmsIoU', name: 'Non-maximum suppression overlap (IoU)', description: 'A box overlapping a stronger one by more is dropped.', type: 'float', min: 0.05, max: 1, value: 0.45 },
  { group: 'inference', key: 'maxObjects', name: 'Most objects predicted per image', description: 'Per window when tiling.', type: 'int', min: 1, max: 10000, value: 300 },
  ...TILING_FIELDS,
];

const HEAD_FIELDS: Field[] = [
  { group: 'training', key: 'epochs', name: 'Epochs over the cached embeddings per round', type: 'int', min: 1, max: 10000, value: 200 },
  { group: 'training', key: 'learningRate', name: 'Learning rate (Adam)', type: 'float', min: 1e-6, max: 10, value: 0.05 },
  { group: 'training', key: 'weightDecay', name: 'Weight decay', type: 'float', min: 0, max: 0.1, value: 0.0001 },
  { group: 'training', key: 'validationFraction', name: 'Held-out fraction for statistics', type: 'float', min: 0, max: 0.5, value: 0.1 },
  { group: 'training', key: 'seed', name: 'Random seed', type: 'int', min: 0, max: 2 ** 31 - 1, value: 0 },
];

export interface OnnxOptions<S> {
  defaultOptions(): string;
  resolve(options: PluginOptions): Resolved<S>;
}

/** classMapping from the options: its value, and what is wrong with it. */
function readClassMapping(raw: unknown): { classMapping: ClassMappingOptions; errors: string[] } {
  const parsed = CLASS_MAPPING.safeParse(raw ?? {});
  if (!parsed.success) {
    return { classMapping: CLASS_MAPPING.parse({}), errors: parsed.error.issues.map((i) => `classMapping${i.path.map((p) => `.${String(p)}`).join('')}: ${i.message}`) };
  }
  const missingOther = parsed.data.unmapped === 'other' && parsed.data.other.trim() === '';
  return { classMapping: parsed.data, errors: missingOther ? ['classMapping.other: name the project class that unmapped model classes become'] : [] };
}

/** The option table of one ONNX plugin: its groups' fields and the runtime's, plus (mapsClasses) classMapping checked as a whole. */
function onnxOptions<S extends OnnxSettings>(
  groups: Record<string, string>, fields: Field[], mapsClasses: boolean, extra: (values: Record<string, FieldValue>) => Omit<S, keyof MappedSettings>,
): OnnxOptions<S> {
  const all = [...fields, ...RUNTIME_FIELDS];
  const groupsWithRuntime = { ...groups, runtime: 'Runtime' };
  const defaults = { ...toOptions(groupsWithRuntime, all), ...(mapsClasses ? { classMapping: CLASS_MAPPING.parse({}) } : {}) };
  return {
    defaultOptions: () => JSON.stringify(defaults, null, 2),
    resolve(options) {
      const { classMapping: raw, ...rest } = options;
      const resolved = resolveFields(groupsWithRuntime, all, mapsClasses ? rest : options);
      const mapping = mapsClasses ? readClassMapping(raw) : undefined;
      const settings = {
        provider: resolved.values.provider as ProviderChoice, threads: resolved.values.threads as number, batchSize: resolved.values.batchSize as number,
        ...(mapping ? { classMapping: mapping.classMapping } : {}),
        ...extra(resolved.values),
      } as S;
      return {
        settings,
        warnings: resolved.warnings,
        errors: [...resolved.errors, ...(mapping?.errors ?? [])],
        options: { ...resolved.options, ...(mapping ? { classMapping: mapping.classMapping } : {}) },
      };
    },
  };
}

export const DETECTOR_OPTIONS = ((o: OnnxOptions<DetectorSettings>): OnnxOptions<DetectorSettings> => ({ ...o, resolve: (options) => withTilingErrors(o.resolve(options)) }))(
  onnxOptions<DetectorSettings>({ inference: 'Inference', ...TILING_GROUP }, DETECTOR_FIELDS, true, (values) => ({
    scoreThreshold: values.scoreThreshold as number, nmsIoU: values.nmsIoU as number, maxObjects: values.maxObjects as number, tiling: tilingSettings(values),
  })),
);

export const CLASSIFIER_OPTIONS = onnxOptions<MappedSettings>({}, [], true, () => ({}));

export const HEAD_OPTIONS = onnxOptions<HeadSettings>({ training: 'Training (head)' }, HEAD_FIELDS, false, (values) => ({
  epochs: values.epochs as number, learningRate: values.learningRate as number, weightDecay: values.weightDecay as number,
  validationFraction: values.validationFraction as number, seed: values.seed as number,
}));


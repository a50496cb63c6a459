/**
 * The colour-histogram model's options, in AIDE's GUI format, and the one
 * function that reads, range-checks and auto-completes them (shared by
 * verifyOptions and the constructor).
 */
import type { PluginOptions } from '../../../libs/plugin/context.js';
import { getOptionValue, unknownOptionKeys } from '../../../libs/plugin/options.js';

export interface HistogramSettings {
  /** Bins per colour channel; the feature has bins³ entries. */
  bins: number;
  /** Images are resized to size×size before counting (speed, not accuracy). */
  imageSize: number;
  /** Softmax temperature over negative L1 distances: lower = more peaked confidences. */
  temperature: number;
}

interface Field {
  key: keyof HistogramSettings;
  name: string;
  type: 'int' | 'float';
  min: number;
  max: number;
  value: number;
}

const FIELDS: Field[] = [
  { key: 'bins', name: 'Bins per colour channel', type: 'int', min: 2, max: 16, value: 4 },
  { key: 'imageSize', name: 'Resize images to (pixels)', type: 'int', min: 8, max: 1024, value: 64 },
  { key: 'temperature', name: 'Softmax temperature', type: 'float', min: 1e-4, max: 10, value: 0.05 },
];

/** GUI-format options holding the given values. */
function toOptions(values: HistogramSettings): PluginOptions {
  const general: Record<string, unknown> = { name: 'Colour histogram' };
  for (const { key, name, type, min, max } of FIELDS) general[key] = { name, type, min, max, value: values[key] };
  return { options: { general } };
}

export const DEFAULT_SETTINGS = Object.fromEntries(FIELDS.map((f) => [f.key, f.value])) as unknown as HistogramSettings;

export const defaultOptionsJson = (): string => JSON.stringify(toOptions(DEFAULT_SETTINGS), null, 2);

export interface ResolvedSettings {
  settings: HistogramSettings;
  warnings: string[];
  errors: string[];
  /** The options completed with defaults for what was missing. */
  options: PluginOptions;
}

export function resolveSettings(options: PluginOptions): ResolvedSettings {
  const settings = { ...DEFAULT_SETTINGS };
  // A misspelt key is named, not silently ignored.
  const warnings = unknownOptionKeys(options, toOptions(DEFAULT_SETTINGS)).map((key) => `unknown option ${key} ignored`);
  const errors: string[] = [];
  for (const { key, type, min, max, value: fallback } of FIELDS) {
    const value = getOptionValue(options, ['options', 'general', key]);
    if (value === undefined) {
      warnings.push(`${key} not set; using ${fallback}`);
    } else if (typeof value !== 'number' || (type === 'int' && !Number.isInteger(value)) || value < min || value > max) {
      errors.push(`${key} must be ${type === 'int' ? 'an integer' : 'a number'} in [${min}, ${max}], got ${JSON.stringify(value)}`);
    } else {
      settings[key] = value;
    }
  }
  return { settings, warnings, errors, options: toOptions(settings) };
}

/**
 * Options of the batch rankers: how many images to select jointly, and (for
 * those that sample) a seed. GUI nodes or plain numbers (getOptionValue).
 */
import type { PluginOptions } from '../../libs/plugin/context.js';
import { getOptionValue, unknownOptionKeys } from '../../libs/plugin/options.js';
import type { VerifyOptionsResult } from '../../libs/plugin/plugin.js';

export const DEFAULT_BATCH_SIZE = 100;
const MAX_BATCH_SIZE = 100_000;

export interface BatchOptions {
  batchSize: number;
  seed: number;
}

/** Default options, with the seed only where the ranker samples. */
export function batchDefaults(withSeed: boolean): PluginOptions {
  return {
    options: {
      batch_size: {
        name: 'Batch size',
        description: 'How many images are selected jointly (the top of NextBatch); the other images follow in the order the criterion gives them.',
        type: 'int', min: 1, max: MAX_BATCH_SIZE, value: DEFAULT_BATCH_SIZE,
      },
      ...(withSeed ? { seed: { name: 'Random seed', description: 'The same seed and input select the same batch.', type: 'int', value: 0 } } : {}),
    },
  };
}

/** The options, or the errors that make them unusable. */
export function readBatchOptions(options: PluginOptions): { options: BatchOptions; errors: string[] } {
  const errors: string[] = [];
  const read = (key: string, fallback: number, min: number, max: number): number => {
    const value = getOptionValue(options, ['options', key]);
    if (value === undefined) return fallback;
    if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
      errors.push(`options.${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
      return fallback;
    }
    return value as number;
  };
  return {
    options: { batchSize: read('batch_size', DEFAULT_BATCH_SIZE, 1, MAX_BATCH_SIZE), seed: read('seed', 0, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) },
    errors,
  };
}

/** verifyOptions of a batch ranker: errors for bad values, warnings for keys it does not know. */
export function verifyBatchOptions(options: PluginOptions, withSeed: boolean): VerifyOptionsResult {
  const { errors } = readBatchOptions(options);
  const warnings = unknownOptionKeys(options, batchDefaults(withSeed)).map((key) => `unknown option ${key} ignored`);
  return { valid: errors.length === 0, errors, warnings, options };
}

/** The options a constructor runs with; throws on unusable ones. */
export function batchOptions(options: PluginOptions): BatchOptions {
  const { options: read, errors } = readBatchOptions(options);
  if (errors.length > 0) throw new Error(errors.join('; '));
  return read;
}

/**
 * Declarative options for built-in models in AIDE's GUI format: a table of
 * fields (group, type, range, default) gives getDefaultOptions' JSON and
 * verifyOptions' field-level checks, so the two can never disagree.
 */
import type { PluginOptions } from '../../libs/plugin/context.js';
import { getOptionValue, unknownOptionKeys } from '../../libs/plugin/options.js';

export type FieldValue = number | boolean | string;

interface FieldBase<V extends FieldValue> {
  group: string;
  key: string;
  name: string;
  description?: string;
  value: V;
}

export type Field =
  | (FieldBase<number> & { type: 'int' | 'float'; min: number; max: number })
  | (FieldBase<boolean> & { type: 'bool' })
  | (FieldBase<string> & { type: 'select'; choices: Record<string, string> });

export interface Groups {
  /** Group key → title shown in the GUI. */
  [group: string]: string;
}

export interface ResolvedFields {
  values: Record<string, FieldValue>;
  warnings: string[];
  /** One per offending field, naming it as group.key. */
  errors: string[];
  /** The options completed with defaults for what was missing. */
  options: PluginOptions;
}

function node(field: Field, value: FieldValue): Record<string, unknown> {
  const { name, description, type } = field;
  const common = { name, ...(description ? { description } : {}), type };
  if (field.type === 'select') return { ...common, options: Object.fromEntries(Object.entries(field.choices).map(([id, label]) => [id, { name: label }])), value: { id: value } };
  if (field.type === 'bool') return { ...common, value };
  return { ...common, min: field.min, max: field.max, value };
}

/** GUI-format options holding `values` (defaults where absent). */
export function toOptions(groups: Groups, fields: readonly Field[], values: Record<string, FieldValue> = {}): PluginOptions {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [group, title] of Object.entries(groups)) out[group] = { name: title };
  for (const f of fields) out[f.group]![f.key] = node(f, values[f.key] ?? f.value);
  return { options: out };
}

/** The problem with `value` for `field`, or undefined if it is fine. */
function check(field: Field, value: unknown): string | undefined {
  switch (field.type) {
    case 'bool':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
    case 'select':
      return typeof value === 'string' && value in field.choices ? undefined : `must be one of ${Object.keys(field.choices).join(', ')}`;
    default: {
      const ok = typeof value === 'number' && Number.isFinite(value) && (field.type === 'float' || Number.isInteger(value)) && value >= field.min && value <= field.max;
      return ok ? undefined : `must be ${field.type === 'int' ? 'an integer' : 'a number'} in [${field.min}, ${field.max}]`;
    }
  }
}

/**
 * Reads every field (GUI nodes or plain values), range-checks it, fills in
 * defaults; keys no field knows (a misspelt "epoch") are named in a warning.
 */
export function resolveFields(groups: Groups, fields: readonly Field[], options: PluginOptions): ResolvedFields {
  const values: Record<string, FieldValue> = {};
  const warnings = unknownOptionKeys(options, toOptions(groups, fields)).map((key) => `unknown option ${key} ignored`);
  const errors: string[] = [];
  for (const field of fields) {
    const path = `${field.group}.${field.key}`;
    const value = getOptionValue(options, ['options', field.group, field.key]);
    const problem = value === undefined ? undefined : check(field, value);
    if (value === undefined) warnings.push(`${path} not set; using ${JSON.stringify(field.value)}`);
    else if (problem) errors.push(`${path} ${problem}, got ${JSON.stringify(value)}`);
    values[field.key] = value === undefined || problem ? field.value : (value as FieldValue);
  }
  return { values, warnings, errors, options: toOptions(groups, fields, values) };
}

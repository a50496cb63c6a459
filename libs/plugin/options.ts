/**
 * Plugin options: the JSON text a project stores, parsed to an object, and
 * read back in AIDE's GUI format, where each option is a node such as
 * { "name": "Random seed", "type": "int", "value": 0 } and select lists hold
 * { "value": { "id": "sgd" } }.
 */
import type { PluginOptions } from './context.js';

export type ParsedOptions = { options: PluginOptions; error?: undefined } | { error: string; options?: undefined };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Empty text means "the defaults" (fallback text, e.g. getDefaultOptions()). */
export function parseOptionsJson(text: string, fallback = ''): ParsedOptions {
  const source = text.trim() === '' ? fallback : text;
  if (source.trim() === '') return { options: {} };
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (err) {
    return { error: `options are not valid JSON: ${(err as Error).message}` };
  }
  return isObject(value) ? { options: value } : { error: 'options must be a JSON object' };
}

/**
 * Descends `keys`; where the next key is missing, a GUI node is looked into
 * for "value", then "id" (so ['options', 'seed'] finds options.seed.value,
 * and a select's chosen id). Undefined when nothing is found — the twin of
 * AIDE's get_hierarchical_value; callers check the type of what they get.
 */
export function getOptionValue(options: unknown, keys: readonly string[]): unknown {
  let node = options;
  for (const key of keys) {
    if (!isObject(node) || !(key in node)) return undefined;
    node = node[key];
  }
  while (isObject(node)) {
    if ('value' in node) node = node.value;
    else if ('id' in node) node = node.id;
    else break;
  }
  return node;
}

/**
 * The keys of `given` that `template` (a plugin's options in full, e.g. its
 * defaults) lacks, as dotted paths ("options.training.epoch"), so a misspelt
 * key is named instead of silently ignored. Below a template leaf (a GUI node
 * with "value") nothing is compared: its value may be given plain or as a node.
 */
export function unknownOptionKeys(given: unknown, template: unknown, path: readonly string[] = []): string[] {
  if (!isObject(given) || !isObject(template) || 'value' in template) return [];
  return Object.entries(given).flatMap(([key, value]) => (key in template
    ? unknownOptionKeys(value, template[key], [...path, key])
    : [[...path, key].join('.')]));
}

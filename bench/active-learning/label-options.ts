/** builtin.labels options as the active-learning benchmarks take them from their command lines. */
import { LabelsClassifier } from '../../models/builtin/classifier/model.js';

/**
 * "group.key=value" assignments as optionsWith changes, each typed like the
 * option's default: numbers and booleans as such, a select's value as its id.
 */
export function optionChanges(assignments: readonly string[]): Record<string, unknown> {
  const defaults = JSON.parse(LabelsClassifier.getDefaultOptions()) as { options: Record<string, Record<string, { value: unknown }>> };
  const out: Record<string, unknown> = {};
  for (const item of assignments) {
    const [, group, key, value] = /^(\w+)\.(\w+)=(.*)$/.exec(item) ?? [];
    const current = group && key ? defaults.options[group]?.[key]?.value : undefined;
    if (current === undefined) throw new Error(`${item}: not group.key=value of a builtin.labels option`);
    out[`${group}.${key}`] = typeof current === 'number' ? Number(value) : typeof current === 'boolean' ? value === 'true'
      : typeof current === 'object' ? { id: value } : value;
  }
  return out;
}

/**
 * A model's own classes (the manifest's names) → the project's label
 * classes: by name (exactly, else ignoring case), or as the options'
 * classMapping.map says; a model class that maps to none is dropped, or kept
 * as the project class classMapping.other names when unmapped is 'other'.
 * Several model classes may map to one project class (their scores add up).
 */
import { z } from 'zod';
import type { LabelClass } from '../../libs/plugin/data.js';

export const CLASS_MAPPING = z.object({
  /** Model class name → project label-class name. */
  map: z.record(z.string(), z.string()).default({}),
  unmapped: z.enum(['drop', 'other']).default('drop'),
  /** The project class unmapped model classes become, with unmapped = 'other'. */
  other: z.string().default(''),
}).strict();

export type ClassMappingOptions = z.output<typeof CLASS_MAPPING>;

export interface ClassMapping {
  /** Project label-class ids that predictions can have, in logits order. */
  targets: string[];
  /** Per model class: its target's position in `targets`, or -1 when dropped. */
  target: number[];
}

/** The mapping for a project's classes; throws where the options name a class that is not there. */
export function mapClasses(modelClasses: readonly string[], labelClasses: Record<string, LabelClass>, o: ClassMappingOptions): ClassMapping {
  const entries = Object.entries(labelClasses).sort(([, a], [, b]) => a.index - b.index);
  const exact = new Map(entries.map(([id, c]) => [c.name, id]));
  const folded = new Map(entries.map(([id, c]) => [c.name.toLowerCase(), id]));
  const byName = (name: string) => exact.get(name) ?? folded.get(name.toLowerCase());
  const unknownKey = Object.keys(o.map).find((k) => !modelClasses.includes(k));
  if (unknownKey !== undefined) throw new Error(`classMapping.map: the model has no class '${unknownKey}' (its classes: ${modelClasses.join(', ')})`);
  const named = (what: string, name: string) => {
    const id = byName(name);
    if (id === undefined) throw new Error(`${what}: the project has no label class '${name}'`);
    return id;
  };
  const other = o.unmapped === 'other' ? named('classMapping.other', o.other) : undefined;
  const ids = modelClasses.map((name) => (name in o.map ? named(`classMapping.map.${name}`, o.map[name]!) : byName(name) ?? other));
  const targets = [...new Set(ids.filter((id): id is string => id !== undefined))];
  return { targets, target: ids.map((id) => (id === undefined ? -1 : targets.indexOf(id))) };
}

/** Per-class scores of the model → per-target scores (summed where several classes share a target). */
export function targetScores(mapping: ClassMapping, scores: readonly number[]): number[] {
  const out = new Array<number>(mapping.targets.length).fill(0);
  scores.forEach((s, k) => { const t = mapping.target[k]!; if (t >= 0) out[t] += s; });
  return out;
}

/** The mapping of a job's classes, computed once for all its images (they share one class list). */
export class ClassMappingCache {
  private last?: { labelClasses: Record<string, LabelClass>; mapping: ClassMapping };

  constructor(private readonly options: ClassMappingOptions) {}

  of(labelClasses: Record<string, LabelClass>, modelClasses: readonly string[]): ClassMapping {
    if (this.last?.labelClasses !== labelClasses) this.last = { labelClasses, mapping: mapClasses(modelClasses, labelClasses, this.options) };
    return this.last.mapping;
  }
}

/**
 * Weighted averaging of model states trained in parallel (FedAvg): each
 * tensor is the mean of the states' tensors weighted by how many images each
 * state was trained on. States must match exactly (model, architecture,
 * tensors, label-class order); callers align class order first.
 */
import { expectModel, type ModelState } from './state-format.js';

export function averageStates(states: readonly ModelState[], weights: readonly number[]): ModelState {
  const [first] = states;
  if (!first) throw new Error('no model states to average');
  if (weights.length !== states.length || weights.some((w) => !(w >= 0)) || weights.every((w) => w === 0)) {
    throw new Error('averaging weights must be one non-negative number per state, not all zero');
  }
  for (const s of states.slice(1)) {
    expectModel(s.header, first.header.model, first.header.arch);
    if (s.header.labelClasses.join() !== first.header.labelClasses.join()) throw new Error('model states have different label classes');
    if (s.tensors.length !== first.tensors.length || s.tensors.some((t, i) => t.name !== first.tensors[i]!.name || t.shape.join() !== first.tensors[i]!.shape.join())) {
      throw new Error('model states have different tensors');
    }
  }
  const total = weights.reduce((a, b) => a + b, 0);
  const tensors = first.tensors.map((t, i) => {
    const data = new Float32Array(t.data.length);
    states.forEach((s, k) => { const src = s.tensors[i]!.data; const w = weights[k]! / total; for (let j = 0; j < data.length; j++) data[j]! += w * src[j]!; });
    return { name: t.name, shape: t.shape, data };
  });
  return { header: { ...first.header, stats: { images: total } }, tensors };
}

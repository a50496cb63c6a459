/**
 * Fitting a state's class head to a list of label classes: kept classes keep
 * their weights, dropped ones lose their output, and a new class starts from
 * the mean of the existing classes' weights and bias (the seed's
 * suggestion), so it begins as an average, undecided output rather than
 * noise that would disturb the known classes. States to be averaged are
 * aligned the same way first.
 */
import type { LabelClass } from '../../libs/plugin/data.js';
import { averageStates } from './average-states.js';
import type { ModelState, NamedTensor } from './state-format.js';

/** Names of a head's tensors: kernel [..., classes] (class on the last axis) and bias [classes]. */
export interface ClassHead {
  kernel: string;
  bias: string;
}

/** Project classes in the GUI's order (LabelClass.index). */
export const classOrder = (labelClasses: Record<string, LabelClass>): string[] =>
  Object.entries(labelClasses).sort(([, a], [, b]) => a.index - b.index).map(([id]) => id);

function tensor(state: ModelState, name: string): NamedTensor {
  const t = state.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`model state lacks tensor ${name}`);
  return t;
}

/** The state with its head rebuilt for `classes` (in that output order); arch.classes follows. */
export function withClasses(state: ModelState, classes: readonly string[], head: ClassHead): ModelState {
  const kernel = tensor(state, head.kernel);
  const bias = tensor(state, head.bias);
  const old = kernel.shape[kernel.shape.length - 1]!;
  const inputs = old > 0 ? kernel.data.length / old : kernel.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const oldIndex = new Map(state.header.labelClasses.map((id, k) => [id, k]));
  const meanColumn = new Float32Array(inputs);
  let meanBias = 0;
  if (old > 0) {
    for (let i = 0; i < inputs; i++) for (let k = 0; k < old; k++) meanColumn[i]! += kernel.data[i * old + k]! / old;
    for (let k = 0; k < old; k++) meanBias += bias.data[k]! / old;
  }
  const n = classes.length;
  const newKernel = new Float32Array(inputs * n);
  const newBias = new Float32Array(n);
  classes.forEach((id, k) => {
    const from = oldIndex.get(id);
    for (let i = 0; i < inputs; i++) newKernel[i * n + k] = from === undefined ? meanColumn[i]! : kernel.data[i * old + from]!;
    newBias[k] = from === undefined ? meanBias : bias.data[from]!;
  });
  const replaced: Record<string, NamedTensor> = {
    [head.kernel]: { name: head.kernel, shape: [...kernel.shape.slice(0, -1), n], data: newKernel },
    [head.bias]: { name: head.bias, shape: [n], data: newBias },
  };
  return {
    header: { ...state.header, arch: { ...state.header.arch, classes: n }, labelClasses: [...classes] },
    tensors: state.tensors.map((t) => replaced[t.name] ?? t),
  };
}

/**
 * The weighted average of states (weights default to each state's training
 * image count), every state's outputs first put in the first one's class
 * order; states over differing class sets are refused.
 */
export function averageClassStates(states: readonly ModelState[], head: ClassHead, weights?: readonly number[]): ModelState {
  const [first] = states;
  if (!first) throw new Error('no model states to average');
  const order = first.header.labelClasses;
  const aligned = states.map((s) => {
    if (s.header.labelClasses.length !== order.length || !order.every((id) => s.header.labelClasses.includes(id))) {
      throw new Error('model states have different label classes');
    }
    return withClasses(s, order, head);
  });
  return averageStates(aligned, weights ?? aligned.map((s) => s.header.stats?.images ?? 1));
}

/**
 * Fitting a state's class head to a list of label classes: kept classes keep
 * their weights, dropped ones lose their output, and a new class starts from
 * the mean of the existing classes' weights and bias (the seed's
 * suggestion), so it begins as an average, undecided output rather than
 * noise that would disturb the known classes.
 */
import type { ModelState, NamedTensor } from './state-format.js';

/** Names of a head's tensors: kernel [..., classes] (class on the last axis) and bias [classes]. */
export interface ClassHead {
  kernel: string;
  bias: string;
}

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
  const inputs = kernel.data.length / Math.max(old, 1);
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

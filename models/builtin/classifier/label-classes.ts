/**
 * Fitting a state's classification head to a list of label classes: kept
 * classes keep their weights, dropped ones lose their output, and a new
 * class starts from the mean of the existing classes' weights and bias (the
 * seed's suggestion), so it begins as an average, undecided output rather
 * than noise that would disturb the known classes.
 */
import type { ModelState, NamedTensor } from '../state-format.js';
import { HEAD_BIAS, HEAD_KERNEL } from './network.js';

function tensor(state: ModelState, name: string): NamedTensor {
  const t = state.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`model state lacks tensor ${name}`);
  return t;
}

/** The state with its head rebuilt for `classes` (in that output order). */
export function withClasses(state: ModelState, classes: readonly string[]): ModelState {
  const kernel = tensor(state, HEAD_KERNEL);
  const bias = tensor(state, HEAD_BIAS);
  const [inputs, old] = kernel.shape as [number, number];
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
    [HEAD_KERNEL]: { name: HEAD_KERNEL, shape: [inputs, n], data: newKernel },
    [HEAD_BIAS]: { name: HEAD_BIAS, shape: [n], data: newBias },
  };
  return {
    header: { ...state.header, arch: { ...state.header.arch, classes: n }, labelClasses: [...classes] },
    tensors: state.tensors.map((t) => replaced[t.name] ?? t),
  };
}

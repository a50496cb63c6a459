/**
 * Softmax over the last axis of network outputs, in place. Done here rather
 * than in the network: WebAssembly's Softmax kernel over a short class axis
 * took a third of a U-Net's inference; this loop is ~20× cheaper.
 */
export function softmaxRows(values: Float32Array, classes: number): Float32Array {
  for (let row = 0; row < values.length; row += classes) {
    let max = -Infinity;
    for (let k = 0; k < classes; k++) max = Math.max(max, values[row + k]!);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += (values[row + k] = Math.exp(values[row + k]! - max));
    for (let k = 0; k < classes; k++) values[row + k]! /= sum;
  }
  return values;
}

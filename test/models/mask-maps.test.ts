/**
 * The segmentation model's conversions between masks at the image's size and
 * the network's square maps, and its output classes under ignoreUnlabeled.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LabelClass } from '../../libs/plugin/data.js';
import { encodeMask } from '../../libs/plugin/masks.js';
import { BACKGROUND, outputClasses, outputLookup } from '../../models/builtin/segmentation/classes.js';
import { outputMap, predictionMaps } from '../../models/builtin/segmentation/mask-maps.js';
import { softmaxRows } from '../../models/builtin/segmentation/softmax.js';

const cls = (index: number): LabelClass => ({ name: `c${index}`, color: null, index });

describe('segmentation classes and maps', () => {
  it('has an output for pixels 0 only when they count as background', () => {
    const labelClasses = { b: cls(2), a: cls(1), bg: cls(0) };
    assert.deepEqual(outputClasses({ labelClasses, ignoreUnlabeled: false }), ['bg', 'a', 'b']);
    assert.deepEqual(outputClasses({ labelClasses, ignoreUnlabeled: true }), ['a', 'b']);
    assert.deepEqual(outputClasses({ labelClasses: { a: cls(1) }, ignoreUnlabeled: false }), [BACKGROUND, 'a']);
    const lookup = outputLookup(['a', 'b'], labelClasses);
    assert.deepEqual([lookup[0], lookup[1], lookup[2], lookup[3]], [-1, 0, 1, -1]);
  });

  it('samples masks at pixel centres and lets later masks overwrite with labelled pixels only', () => {
    // 4×2 mask → 2×2 map: pixel centres land on mask columns 1 and 3, rows 0 and 1.
    const first = encodeMask(Uint8Array.from([1, 1, 2, 2, 1, 1, 2, 0]), 4, 2);
    const second = encodeMask(Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 1]), 4, 2);
    const lookup = outputLookup(['a', 'b'], { a: cls(1), b: cls(2) });
    assert.deepEqual(Array.from(outputMap([first], lookup, 2, 2).outputs), [0, 1, 0, -1]);
    assert.deepEqual(Array.from(outputMap([first, second], lookup, 2, 2).outputs), [0, 1, 0, 0]);
  });

  it('resizes probabilities bilinearly to the image and drops classes the project no longer has', () => {
    // 2×2 network map, 3 outputs; output 1's class is gone (index −1).
    const probs = Float32Array.from([
      0.8, 0.1, 0.1, 0.1, 0.1, 0.8,
      0.8, 0.1, 0.1, 0.1, 0.1, 0.8,
    ]);
    const p = predictionMaps(probs, 2, { indices: [3, -1, 5], width: 4, height: 1, logits: true });
    assert.deepEqual(Array.from(p.labelMap), [3, 3, 5, 5]);
    assert.equal(p.numClasses, 2);
    // Columns 1 and 2 lie a quarter of the way between the two network columns.
    const planes = [Array.from(p.logitsMap!.subarray(0, 4)), Array.from(p.logitsMap!.subarray(4, 8))];
    const expected = [0.8 / 0.9, (0.75 * 0.8 + 0.25 * 0.1) / 0.9, (0.25 * 0.8 + 0.75 * 0.1) / 0.9, 0.1 / 0.9];
    planes[0]!.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-6, `plane 0 pixel ${i}: ${v}`));
    planes[1]!.forEach((v, i) => assert.ok(Math.abs(v + planes[0]![i]! - 1) < 1e-6));
    assert.ok(Math.abs(p.confidenceMap[1]! - expected[1]!) < 1e-6);
  });

  it('takes the softmax of each pixel in place', () => {
    const values = softmaxRows(Float32Array.from([0, Math.log(3), 1000, 1000]), 2);
    assert.deepEqual(Array.from(values, (v) => Math.round(v * 1e6) / 1e6), [0.25, 0.75, 0.5, 0.5]);
  });
});

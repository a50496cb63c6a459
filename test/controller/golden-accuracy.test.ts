/** Golden-question scoring by prediction type, against counts by hand. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Annotation, PredictionInput } from '../../services/controller/domain.js';
import { goldenCounts, goldenScores, iou } from '../../services/controller/golden-accuracy.js';

const ann = (labelClassId: string | null, geometry: Annotation['geometry']): Annotation =>
  ({ id: '', imageId: 'i', labelClassId, unsure: false, author: '', createdAt: new Date(0), geometry });
const pred = (labelClassId: string | null, confidence: number, geometry: PredictionInput['geometry']): PredictionInput =>
  ({ labelClassId, confidence, logits: [], priority: 0, geometry });

test('labels: the top-confidence label against the image\'s annotated classes', () => {
  const label = { kind: 'label' as const };
  assert.deepEqual(goldenCounts('labels', [ann('cat', label)], [pred('dog', 0.4, label), pred('cat', 0.6, label)]), { matched: 1, predicted: 1, annotated: 1 });
  assert.deepEqual(goldenCounts('labels', [ann('cat', label)], [pred('dog', 0.7, label), pred('cat', 0.3, label)]), { matched: 0, predicted: 1, annotated: 1 });
  assert.deepEqual(goldenCounts('labels', [ann('cat', label)], []), { matched: 0, predicted: 0, annotated: 1 }, 'no prediction: wrong');
  // Without label annotations the image's classes are its objects' classes.
  assert.deepEqual(goldenCounts('labels', [ann('cat', { kind: 'point', x: 0.1, y: 0.1 })], [pred('cat', 0.9, label)]), { matched: 1, predicted: 1, annotated: 1 });
  assert.equal(goldenCounts('labels', [], [pred('cat', 0.9, label)]), undefined, 'no known answer: not scored');
  assert.equal(goldenScores('labels', { matched: 3, predicted: 4, annotated: 5 }).score, 3 / 5, 'accuracy over all golden images');
});

test('points: one-to-one within the radius, same class, most confident first', () => {
  const p = (x: number, y: number) => ({ kind: 'point' as const, x, y });
  const annotations = [ann('a', p(0.2, 0.2)), ann('a', p(0.5, 0.5)), ann('b', p(0.8, 0.8))];
  const predictions = [
    pred('a', 0.9, p(0.21, 0.2)), // hit
    pred('a', 0.8, p(0.2, 0.22)), // near the same annotation, already taken: false positive
    pred('a', 0.7, p(0.8, 0.8)), // right place, wrong class
    pred('b', 0.6, p(0.85, 0.85)), // 0.071 away: outside 0.05
    pred('a', 0.5, p(0.5, 0.54)), // hit
  ];
  const counts = goldenCounts('points', annotations, predictions)!;
  assert.deepEqual(counts, { matched: 2, predicted: 5, annotated: 3 });
  const s = goldenScores('points', counts);
  assert.deepEqual([s.precision, s.recall, s.score], [2 / 5, 2 / 3, 4 / 8]);
  // The more confident prediction takes the annotation even when a less confident one lies closer.
  assert.deepEqual(goldenCounts('points', [ann('a', p(0.5, 0.5))], [pred('a', 0.2, p(0.5, 0.5)), pred('a', 0.9, p(0.53, 0.5))]), { matched: 1, predicted: 2, annotated: 1 });
  assert.equal(goldenCounts('points', [ann('a', { kind: 'box', x: 0.5, y: 0.5, width: 0.1, height: 0.1 })], []), undefined, 'no point annotation: not scored');
});

test('boxes: matched at IoU ≥ 0.5', () => {
  const b = (x: number, y: number, width: number, height: number) => ({ kind: 'box' as const, x, y, width, height });
  assert.ok(Math.abs(iou(b(0.5, 0.5, 0.2, 0.2), b(0.5, 0.5, 0.2, 0.2)) - 1) < 1e-12);
  assert.ok(Math.abs(iou(b(0.5, 0.5, 0.2, 0.2), b(0.6, 0.5, 0.2, 0.2)) - 1 / 3) < 1e-12, 'half overlapping: 1/3');
  assert.equal(iou(b(0.1, 0.1, 0.1, 0.1), b(0.9, 0.9, 0.1, 0.1)), 0);
  const annotations = [ann('a', b(0.3, 0.3, 0.2, 0.2)), ann('a', b(0.7, 0.7, 0.2, 0.2))];
  const predictions = [
    pred('a', 0.9, b(0.31, 0.3, 0.2, 0.2)), // IoU 0.905: hit
    pred('a', 0.8, b(0.75, 0.7, 0.2, 0.2)), // IoU 0.6: hit
    pred('a', 0.7, b(0.6, 0.3, 0.2, 0.2)), // no overlap with a free one
  ];
  assert.deepEqual(goldenCounts('boundingBoxes', annotations, predictions), { matched: 2, predicted: 3, annotated: 2 });
  assert.deepEqual(goldenCounts('boundingBoxes', annotations.slice(0, 1), [pred('a', 0.9, b(0.4, 0.3, 0.2, 0.2))]), { matched: 0, predicted: 1, annotated: 1 }, 'IoU 1/3 is no match');
  assert.equal(goldenScores('boundingBoxes', { matched: 2, predicted: 3, annotated: 2 }).score, 0.8);
});

test('segmentation: pixel accuracy over labelled pixels, the map sampled at the mask\'s resolution', () => {
  // A 4×2 mask: class 1 left, class 2 right, one unlabelled pixel.
  const mask = { kind: 'mask' as const, data: Uint8Array.from([1, 1, 2, 0, 1, 1, 2, 2]), width: 4, height: 2 };
  const seg = (labelMap: number[], width: number, height: number) => ({
    kind: 'segmentation' as const, width, height, labelMap: Uint8Array.from(labelMap), confidenceMap: new Uint8Array(width * height * 4), logitsMap: new Uint8Array(), numClasses: 0,
  });
  // Same size, two pixels wrong (one of them labelled).
  assert.deepEqual(goldenCounts('segmentationMasks', [ann(null, mask)], [pred(null, 0, seg([1, 2, 2, 1, 1, 1, 2, 2], 4, 2))]), { matched: 6, predicted: 7, annotated: 7 });
  // Half the resolution: each map pixel covers 2×2 mask pixels.
  assert.deepEqual(goldenCounts('segmentationMasks', [ann(null, mask)], [pred(null, 0, seg([1, 2], 2, 1))]), { matched: 7, predicted: 7, annotated: 7 });
  assert.deepEqual(goldenCounts('segmentationMasks', [ann(null, mask)], []), { matched: 0, predicted: 0, annotated: 7 });
  assert.equal(goldenScores('segmentationMasks', { matched: 6, predicted: 7, annotated: 7 }).score, 6 / 7);
});

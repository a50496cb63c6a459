import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Adam } from '../../models/builtin/adam.js';
import { LabelsClassifier } from '../../models/builtin/classifier/model.js';
import { resolveSettings } from '../../models/builtin/classifier/settings.js';
import { BoundingBoxDetector } from '../../models/builtin/detector/model.js';
import { PointsModel } from '../../models/builtin/points/model.js';
import { SegmentationModel } from '../../models/builtin/segmentation/model.js';
import { ANNEAL_FRACTION, scheduleFactor } from '../../models/builtin/train-loop.js';
import { optionsWith } from '../support/builtin-models.js';

describe('learning-rate schedule', () => {
  it('cosine falls from the full rate to near zero by the last batch; constant stays', () => {
    const total = 100;
    assert.equal(scheduleFactor('cosine', 0, total), 1);
    assert.ok(Math.abs(scheduleFactor('cosine', total / 2, total) - 0.5) < 1e-12);
    assert.ok(scheduleFactor('cosine', total - 1, total) < 0.001);
    for (let b = 1; b < total; b++) assert.ok(scheduleFactor('cosine', b, total) < scheduleFactor('cosine', b - 1, total), 'falls at every batch');
    for (const b of [0, 50, 99]) assert.equal(scheduleFactor('constant', b, total), 1);
  });

  it('anneal keeps the full rate for the first four fifths, then falls to near zero by the last batch', () => {
    const total = 100;
    const from = total * (1 - ANNEAL_FRACTION);
    for (let b = 0; b < from; b++) assert.equal(scheduleFactor('anneal', b, total), 1);
    for (let b = from + 1; b < total; b++) assert.ok(scheduleFactor('anneal', b, total) < scheduleFactor('anneal', b - 1, total), 'falls at every batch after');
    assert.ok(Math.abs(scheduleFactor('anneal', from + (total - from) / 2, total) - 0.5) < 1e-12);
    assert.ok(scheduleFactor('anneal', total - 1, total) < 0.01);
  });

  it("Adam's step moves the parameters by the scaled rate", () => {
    const step = (scale: number) => {
      const params = [new Float32Array([1, -2, 3])];
      new Adam(params, { learningRate: 0.1, weightDecay: 0.01 }).step(params, [new Float32Array([0.5, -0.5, 2])], scale);
      return Array.from(params[0]!, (p, i) => p - [1, -2, 3][i]!);
    };
    const full = step(1);
    const half = step(0.5);
    assert.deepEqual(step(0), [0, 0, 0], 'a factor of 0 leaves the parameters (and their decay) alone');
    full.forEach((d, i) => assert.ok(Math.abs(half[i]! - d / 2) < 1e-6, `parameter ${i}: ${half[i]} is half of ${d}`));
  });

  it('is a training option of the built-in models: the classifier anneals by default, the others keep a constant rate', () => {
    const defaults = LabelsClassifier.getDefaultOptions();
    assert.deepEqual((JSON.parse(defaults) as { options: { training: { schedule: { value: unknown } } } }).options.training.schedule.value, { id: 'anneal' });
    assert.equal(resolveSettings(optionsWith(defaults, {})).settings.schedule, 'anneal');
    assert.equal(resolveSettings({}).settings.schedule, 'anneal', 'options written before the field existed');
    assert.equal(resolveSettings(optionsWith(defaults, { 'training.schedule': { id: 'constant' } })).settings.schedule, 'constant');
    assert.ok(resolveSettings(optionsWith(defaults, { 'training.schedule': { id: 'sometimes' } })).errors.some((e) => e.includes('training.schedule')));
    for (const model of [BoundingBoxDetector, PointsModel, SegmentationModel]) {
      assert.deepEqual((JSON.parse(model.getDefaultOptions()) as { options: { training: { schedule: { value: unknown } } } }).options.training.schedule.value, { id: 'constant' }, model.name);
    }
  });
});

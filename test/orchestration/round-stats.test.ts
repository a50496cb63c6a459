import { test } from 'node:test';
import assert from 'node:assert/strict';
import { roundStats } from '../../services/controller/orchestration/distributed-train.js';

test('a round\'s statistics: image counts add up, seconds is the slowest shard, the rest is weighted by images', () => {
  const stats = roundStats([
    { numImages: 12, stats: { images: 12, heldOutImages: 3, trainLoss: 1, heldOutAccuracy: 0.5, seconds: 4 } },
    { numImages: 4, stats: { images: 4, heldOutImages: 1, trainLoss: 3, heldOutAccuracy: 1, seconds: 9 } },
  ]);
  assert.deepEqual(stats, { images: 16, heldOutImages: 4, trainLoss: (12 * 1 + 4 * 3) / 16, heldOutAccuracy: (12 * 0.5 + 4 * 1) / 16, seconds: 9 });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RankData, SegmentationPrediction } from '../../libs/plugin/data.js';
import type { RankerClass } from '../../libs/plugin/plugin.js';
import { rankInMemory } from '../../libs/plugin/pool-selection.js';
import { probeContext } from '../../libs/plugin/probe.js';
import { parseOptionsJson } from '../../libs/plugin/options.js';
import { BreakingTiesRanker } from '../../models/rankers/breaking-ties.js';
import { EntropyRanker } from '../../models/rankers/entropy.js';
import { LeastConfidenceRanker } from '../../models/rankers/least-confidence.js';
import { MaxConfidenceRanker } from '../../models/rankers/max-confidence.js';
import { RandomRanker } from '../../models/rankers/random.js';

/**
 * Fixed inputs, one image per prediction type:
 *   labels  logits [0.7, 0.2, 0.1]          (already probabilities)
 *   labels  logits [2, 0]                   (raw → softmax [0.880797, 0.119203])
 *   points  confidence 0.8, no logits       (two-class view [0.8, 0.2])
 *   boxes   logits [0.5, 0.5]
 *   masks   2×1, C×H×W logits [0.9, 0.5 | 0.1, 0.5] → pixels [0.9, 0.1], [0.5, 0.5]
 *   masks   2×1, confidence map [1, 0.5] only
 */
function fixture(): RankData {
  const segLogits: SegmentationPrediction = {
    width: 2, height: 1, labelMap: new Uint8Array([1, 1]), confidenceMap: new Float32Array([0.9, 0.5]),
    logitsMap: new Float32Array([0.9, 0.5, 0.1, 0.5]), numClasses: 2,
  };
  const segConfidence: SegmentationPrediction = {
    width: 2, height: 1, labelMap: new Uint8Array([1, 2]), confidenceMap: new Float32Array([1, 0.5]),
  };
  return {
    labels: { predictions: [{ label: 'a', confidence: 0.7, logits: [0.7, 0.2, 0.1] }, { label: 'a', logits: [2, 0] }] },
    points: { predictions: [{ label: 'a', x: 0.1, y: 0.2, confidence: 0.8 }] },
    boxes: { predictions: [{ label: 'b', x: 0.5, y: 0.5, width: 0.2, height: 0.1, confidence: 0.5, logits: [0.5, 0.5] }] },
    masks: { predictions: [segLogits, segConfidence] },
  };
}

async function priorities(ranker: RankerClass, optionsJson = ''): Promise<number[]> {
  const parsed = parseOptionsJson(optionsJson, ranker.getDefaultOptions?.());
  assert.ok(parsed.options);
  const updates: number[] = [];
  const ranked = await rankInMemory(new ranker(probeContext(parsed.options)), fixture(), (_s, _m, done) => { if (done !== undefined) updates.push(done); });
  assert.equal(updates.at(-1), 4, 'progress reaches all images');
  return Object.values(ranked).flatMap((img) => img.predictions.map((p) => p.priority!));
}

function assertClose(actual: number[], expected: number[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - expected[i]!) < 1e-6, `#${i}: ${a} ≠ ${expected[i]}`));
}

describe('built-in rankers on hand-computed values', () => {
  //                       labels(p)  labels(raw)  point  box   mask(logits) mask(conf)
  it('max confidence: p₁', async () => {
    assertClose(await priorities(MaxConfidenceRanker), [0.7, 0.8807970780, 0.8, 0.5, 0.7, 0.75]);
  });

  it('least confidence: 1 − p₁', async () => {
    assertClose(await priorities(LeastConfidenceRanker), [0.3, 0.1192029220, 0.2, 0.5, 0.3, 0.25]);
  });

  it('breaking ties: 1 − (p₁ − p₂)', async () => {
    assertClose(await priorities(BreakingTiesRanker), [0.5, 0.2384058440, 0.4, 1, 0.6, 0.5]);
  });

  it('entropy: −Σ p ln p / ln C', async () => {
    assertClose(await priorities(EntropyRanker), [0.7298466992, 0.5270653410, 0.7219280949, 1, 0.7344977968, 0.5]);
  });

  it('random: seeded, reproducible, in [0, 1)', async () => {
    const a = await priorities(RandomRanker, '{"options":{"seed":{"value":7}}}');
    const b = await priorities(RandomRanker, '{"options":{"seed":7}}');
    const c = await priorities(RandomRanker, '{"options":{"seed":8}}');
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    for (const p of a) assert.ok(p >= 0 && p < 1);
  });

  it('a prediction with neither logits nor confidence is an error, not a silent 0', async () => {
    const ranker = new EntropyRanker(probeContext({}));
    await assert.rejects(ranker.rank({ img: { predictions: [{ id: 'p1', label: 'a' }] } }, () => {}), /p1 has neither logits nor a confidence/);
  });

  it('stops when the signal is aborted', async () => {
    const ranker = new EntropyRanker(probeContext({}));
    await assert.rejects(ranker.rank(fixture(), () => {}, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  });
});

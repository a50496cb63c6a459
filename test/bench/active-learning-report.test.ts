/**
 * What bench/active-learning prints: curves over seeds, the labels a
 * strategy needs to match random's last accuracy, result lines that a
 * summary can be rebuilt from, and an SVG plot.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { curvePoints, learningCurvesSvg, parseResultLine, resultLine, summarize, type Result } from '../../bench/active-learning/report.js';

const results: Result[] = [
  // random: 0.70 → 0.80 at 400; margin reaches 0.80 at 200 on one seed, 0.81 on average at 400.
  ...[0, 1].flatMap((seed) => [
    { side: 'mesh', strategy: 'random', seed, labels: 200, accuracy: 0.7 },
    { side: 'mesh', strategy: 'random', seed, labels: 400, accuracy: 0.8 },
    { side: 'mesh', strategy: 'margin', seed, labels: 200, accuracy: [0.7, 0.8][seed]! },
    { side: 'mesh', strategy: 'margin', seed, labels: 400, accuracy: 0.81 },
    { side: 'torch', strategy: 'random', seed, labels: 200, accuracy: 0.72 },
    { side: 'torch', strategy: 'random', seed, labels: 400, accuracy: 0.79 },
  ]),
];

describe('active-learning benchmark report', () => {
  it('averages over seeds with spread and range', () => {
    const margin200 = curvePoints(results).find((p) => p.side === 'mesh' && p.strategy === 'margin' && p.labels === 200)!;
    assert.equal(margin200.seeds, 2);
    assert.ok(Math.abs(margin200.mean - 0.75) < 1e-12);
    assert.ok(Math.abs(margin200.sd - Math.sqrt(0.005)) < 1e-12);
    assert.deepEqual([margin200.min, margin200.max], [0.7, 0.8]);
  });

  it('prints labels to match random at the last budget by the mean, best accuracy and the shortfall against the twin', () => {
    const text = summarize(results, [200, 400]);
    assert.match(text, /^figure labels_to_match_random_400_margin 1\.00$/m); // the mean at 200 (0.75) is short of 0.80
    assert.match(text, /^figure labels_to_match_random_400_random 1\.00$/m);
    assert.match(text, /^figure best_accuracy_at_400 0\.8100 \(margin\)$/m);
    assert.match(text, /^figure torch_labels_to_match_random_400_random 1\.00$/m);
    assert.match(text, /^figure random_mesh_below_torch_max 0\.0200$/m);
    const never = summarize(results.map((r) => (r.strategy === 'margin' ? { ...r, accuracy: 0.5 } : r)), [200, 400]);
    assert.match(never, /^figure labels_to_match_random_400_margin inf$/m);
  });

  it('rebuilds results from their printed lines and ignores other lines', () => {
    assert.deepEqual(results.map((r) => parseResultLine(resultLine(r))), results);
    assert.equal(parseResultLine('figure best_accuracy_at_400 0.81'), undefined);
  });

  it('draws one line per side and strategy into a standalone SVG', () => {
    const svg = learningCurvesSvg(results, 'test curves');
    assert.match(svg, /^<\?xml[^>]*>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /test curves/);
    for (const name of ['mesh random', 'mesh margin', 'PyTorch random']) assert.ok(svg.includes(name), name);
  });
});

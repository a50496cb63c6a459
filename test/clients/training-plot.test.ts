import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHTML } from 'linkedom';
import { svgPlot } from '../../clients/cli/training-plot-svg.js';
import { terminalPlot, trainingCurves } from '../../clients/cli/training-plot.js';
import type { GetTrainingStatisticsResponse } from '../../libs/gen/aide/v1/controller.js';

/** Four states: loss falling 1 → 0.25, held-out accuracy rising 60 → 90 %, golden questions scored on v2 and v4 only. */
const statistics: GetTrainingStatisticsResponse = {
  states: [4, 2, 1, 3].map((v) => ({
    id: `s${v}`, version: v, numImages: 10, createdAt: undefined, modelLibrary: 'builtin.labels',
    stats: { trainLoss: 1 / v, heldOutAccuracy: 0.5 + v / 10, images: 10 },
  })) as unknown as GetTrainingStatisticsResponse['states'],
  goldenAccuracy: [{ modelStateId: 's2', score: 0.6 }, { modelStateId: 's4', score: 0.8 }] as unknown as GetTrainingStatisticsResponse['goldenAccuracy'],
  // v1 has no previous state; v3 and v4 changed 30 % and 10 % of the unannotated images' classes (v2 was not predicted).
  stopping: [
    { modelStateId: 's1', previousModelStateId: '', changedFraction: 0 },
    { modelStateId: 's3', previousModelStateId: 's1', changedFraction: 0.3 },
    { modelStateId: 's4', previousModelStateId: 's3', changedFraction: 0.1 },
  ] as unknown as GetTrainingStatisticsResponse['stopping'],
};

test('training curves: one per statistic some state has, oldest version first, states without it left out', () => {
  const curves = trainingCurves(statistics);
  assert.deepEqual(curves.map((c) => [c.name, c.unit, c.points.map((p) => p.version)]), [
    ['training loss', 'loss', [1, 2, 3, 4]],
    ['held-out accuracy', 'accuracy', [1, 2, 3, 4]],
    ['golden-question accuracy', 'accuracy', [2, 4]],
    ['unannotated images changed since previous', 'accuracy', [3, 4]],
  ]);
  assert.deepEqual(curves[2]!.points.map((p) => p.value), [0.6, 0.8]);
});

test('terminal plot: a chart per curve, its values on the axis, the line falling where the loss falls', () => {
  const text = terminalPlot(trainingCurves(statistics), false);
  const [loss, heldOut, golden] = text.split('\n\n');
  assert.match(loss!, /^training loss \(4 states, v1 → v4\)\n/);
  assert.match(heldOut!, /^held-out accuracy \(4 states, v1 → v4\)\n\s+100 % ┼/);
  assert.match(golden!, /^golden-question accuracy \(2 states, v2 → v4\)\n/);
  assert.match(heldOut!, /\n\s+0 % ┤/);
  const rows = loss!.split('\n').slice(1);
  assert.match(rows[0]!, /^\s+1\.00 ┼/, 'the top of the axis is the largest loss, v1\'s');
  assert.match(rows.at(-1)!, /^\s+0\.250 ┤.*─\s*$/, 'the line ends on the bottom row: v4\'s loss');
  assert.doesNotMatch(text, /\u001b\[/, 'no colour codes when not asked for');
  assert.match(terminalPlot([], false), /no statistics to plot/);
});

test('SVG plot: a loss panel and an accuracy panel, a dot per state and statistic, each curve named', () => {
  const svg = svgPlot(trainingCurves(statistics), 'birds: training curves');
  assert.match(svg, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg /);
  const { document } = parseHTML(`<html><body>${svg.replace(/^<\?xml[^>]*>/, '')}</body></html>`);
  const root = document.querySelector('body > svg')!;
  assert.equal(root.getAttribute('xmlns'), 'http://www.w3.org/2000/svg');
  assert.equal(root.querySelectorAll(':scope > svg').length, 2, 'two panels');
  assert.equal(root.querySelectorAll('circle').length, 4 + 4 + 2 + 2);
  const texts = [...root.querySelectorAll('text')].map((t) => t.textContent);
  for (const name of ['birds: training curves', 'training loss', 'held-out accuracy', 'golden-question accuracy', 'unannotated images changed since previous']) assert.ok(texts.includes(name), name);
  assert.ok(texts.includes('100%') && texts.includes('0%'), 'the accuracy axis in percent');
});

/**
 * The table, figures and learning-curve SVG of protocol.ts from the result
 * lines of one or more of its logs: runs split over processes (e.g. one seed
 * each), or a run stopped before it ended.
 *
 *   node --import tsx bench/active-learning/summarize.ts [--svg FILE] LOG...
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { learningCurvesSvg, parseResultLine, summarize } from './report.js';

const { values: args, positionals: logs } = parseArgs({ options: { svg: { type: 'string', default: '' }, title: { type: 'string', default: 'Fashion-MNIST: mean test accuracy (band: min–max over seeds)' } }, allowPositionals: true });
const results = logs.flatMap((log) => readFileSync(log, 'utf8').split('\n').flatMap((line) => {
  const r = parseResultLine(line);
  return r ? [r] : [];
}));
const budgets = [...new Set(results.map((r) => r.labels))].sort((a, b) => a - b);
const seeds = [...new Set(results.map((r) => r.seed))];
console.log(`${results.length} results, seeds ${seeds.join(', ')}, budgets ${budgets.join(', ')}`);
console.log(summarize(results, budgets));
if (args.svg) writeFileSync(args.svg, learningCurvesSvg(results, args.title));

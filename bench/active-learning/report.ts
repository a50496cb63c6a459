/**
 * What protocol.ts prints and draws from its results: accuracy per budget
 * over seeds, the `figure` lines, and learning curves as SVG (Observable
 * Plot on linkedom's DOM, as `aide states stats --plot`).
 */
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';

export interface Result {
  /** 'mesh' (through the gRPC API) or 'torch' (the PyTorch twin). */
  side: string;
  strategy: string;
  seed: number;
  labels: number;
  accuracy: number;
}

export interface CurvePoint {
  side: string;
  strategy: string;
  labels: number;
  mean: number;
  sd: number;
  min: number;
  max: number;
  seeds: number;
}

/** The line protocol.ts prints per result. */
export const resultLine = (r: Result): string => `${r.side} ${r.strategy} seed ${r.seed} labels ${r.labels}: accuracy ${r.accuracy.toFixed(4)}`;

/** A result from its line (resultLine), or undefined for any other line. */
export function parseResultLine(line: string): Result | undefined {
  const m = /^(\S+) (\S+) seed (\d+) labels (\d+): accuracy ([\d.]+)$/.exec(line.trim());
  return m ? { side: m[1]!, strategy: m[2]!, seed: Number(m[3]), labels: Number(m[4]), accuracy: Number(m[5]) } : undefined;
}

/** Mean, standard deviation and range over seeds, per side, strategy and budget. */
export function curvePoints(results: readonly Result[]): CurvePoint[] {
  const groups = new Map<string, Result[]>();
  for (const r of results) {
    const key = JSON.stringify([r.side, r.strategy, r.labels]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const values = rs.map((r) => r.accuracy);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / Math.max(1, values.length - 1));
    return { side: rs[0]!.side, strategy: rs[0]!.strategy, labels: rs[0]!.labels, mean, sd, min: Math.min(...values), max: Math.max(...values), seeds: values.length };
  });
}

/**
 * The fewest labels, as a fraction of the last budget, at which a curve's
 * mean reaches `target`; Infinity if it never does.
 */
export function labelsToMatch(points: readonly CurvePoint[], target: number, lastBudget: number): number {
  const reached = points.filter((p) => p.mean >= target).map((p) => p.labels);
  return reached.length === 0 ? Infinity : Math.min(...reached) / lastBudget;
}

/** The table (one row per budget, a column per side and strategy) and the figure lines. */
export function summarize(results: readonly Result[], budgets: readonly number[]): string {
  const points = curvePoints(results);
  const curves = [...new Set(points.map((p) => `${p.side} ${p.strategy}`))];
  const at = (curve: string, labels: number) => points.find((p) => `${p.side} ${p.strategy}` === curve && p.labels === labels);
  const cell = (p: CurvePoint | undefined) => (p ? `${p.mean.toFixed(3)} ± ${p.sd.toFixed(3)} (${p.min.toFixed(3)}–${p.max.toFixed(3)}, n = ${p.seeds})` : '—');
  const lines = [
    `| labels | ${curves.join(' | ')} |`,
    `|---:|${curves.map(() => '---:').join('|')}|`,
    ...budgets.map((b) => `| ${b} | ${curves.map((curve) => cell(at(curve, b))).join(' | ')} |`),
    '',
  ];
  const last = budgets.at(-1)!;
  for (const side of [...new Set(points.map((p) => p.side))]) {
    const prefix = side === 'mesh' ? '' : `${side}_`;
    const random = at(`${side} random`, last);
    if (!random) continue;
    for (const strategy of [...new Set(points.filter((p) => p.side === side).map((p) => p.strategy))]) {
      const fraction = labelsToMatch(points.filter((p) => p.side === side && p.strategy === strategy), random.mean, last);
      lines.push(`figure ${prefix}labels_to_match_random_${last}_${strategy} ${Number.isFinite(fraction) ? fraction.toFixed(2) : 'inf'}`);
    }
    const best = points.filter((p) => p.side === side && p.labels === last).sort((a, b) => b.mean - a.mean)[0]!;
    lines.push(`figure ${prefix}best_accuracy_at_${last} ${best.mean.toFixed(4)} (${best.strategy})`);
  }
  const shortfalls = budgets.flatMap((b) => {
    const mesh = at('mesh random', b);
    const torch = at('torch random', b);
    return mesh && torch ? [torch.mean - mesh.mean] : [];
  });
  if (shortfalls.length > 0) lines.push(`figure random_mesh_below_torch_max ${Math.max(...shortfalls).toFixed(4)}`);
  return lines.join('\n');
}

/** The DOM types as Plot names them (this project compiles without the DOM library). */
type PlotDocument = NonNullable<Plot.PlotOptions['document']>;

/** Mean test accuracy against labels, one line per side and strategy (twin dashed), min–max over seeds as a band. */
export function learningCurvesSvg(results: readonly Result[], title: string): string {
  const { document } = parseHTML('<!doctype html><html><body></body></html>');
  const rows = curvePoints(results).map((p) => ({ ...p, curve: `${p.side === 'mesh' ? 'mesh' : 'PyTorch'} ${p.strategy}` }))
    .sort((a, b) => a.labels - b.labels);
  const plot = Plot.plot({
    document: document as unknown as PlotDocument,
    width: 760,
    height: 440,
    marginTop: 40,
    marginRight: 150,
    x: { label: 'labelled images', grid: true },
    y: { label: 'test accuracy', grid: true },
    color: { type: 'categorical', legend: false },
    marks: [
      Plot.areaY(rows, { x: 'labels', y1: 'min', y2: 'max', fill: 'curve', fillOpacity: 0.12 }),
      Plot.lineY(rows.filter((r) => r.side === 'mesh'), { x: 'labels', y: 'mean', stroke: 'curve' }),
      Plot.lineY(rows.filter((r) => r.side !== 'mesh'), { x: 'labels', y: 'mean', stroke: 'curve', strokeDasharray: '4 3' }),
      Plot.dot(rows, { x: 'labels', y: 'mean', fill: 'curve', r: 2.5 }),
      Plot.text(rows, Plot.selectLast({ x: 'labels', y: 'mean', z: 'curve', text: 'curve', fill: 'curve', textAnchor: 'start', dx: 6 })),
      // The title inside the SVG (Plot's own `title` option wraps the chart in an HTML <figure>).
      Plot.text([title], { frameAnchor: 'top-left', dy: -28, fontSize: 13 }),
    ],
  });
  plot.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  return `<?xml version="1.0" encoding="UTF-8"?>\n${plot.outerHTML}\n`;
}

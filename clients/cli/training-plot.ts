/**
 * Training curves of a project's model states — training loss, held-out and
 * golden-question accuracy, the share of unannotated images whose class
 * changed since the previous state, by state version — for `aide states stats --plot`:
 * line charts in the terminal (asciichart), or an SVG file (Observable Plot,
 * rendered on linkedom's DOM: no browser).
 */
import * as Plot from '@observablehq/plot';
import asciichart from 'asciichart';
import { parseHTML } from 'linkedom';
import type { GetTrainingStatisticsResponse } from '../../libs/gen/aide/v1/controller.js';

export interface Point {
  version: number;
  value: number;
}

export interface Curve {
  name: string;
  /** Accuracies (and the share of changed predictions) share the 0–1 axis; a loss gets its own. */
  unit: 'loss' | 'accuracy';
  /** Oldest version first; states without this statistic are left out. */
  points: Point[];
}

/** The curves the states' statistics hold: those no state reports are left out. */
export function trainingCurves(r: GetTrainingStatisticsResponse): Curve[] {
  const golden = new Map(r.goldenAccuracy.map((g) => [g.modelStateId, g.score]));
  const changed = new Map(r.stopping.filter((s) => s.previousModelStateId).map((s) => [s.modelStateId, s.changedFraction]));
  const states = [...r.states].sort((a, b) => a.version - b.version);
  const curve = (name: string, unit: Curve['unit'], value: (s: (typeof states)[number]) => number | undefined): Curve => ({
    name, unit,
    points: states.flatMap((s) => {
      const v = value(s);
      return v === undefined || !Number.isFinite(v) ? [] : [{ version: s.version, value: v }];
    }),
  });
  return [
    curve('training loss', 'loss', (s) => s.stats.trainLoss),
    curve('held-out loss', 'loss', (s) => s.stats.heldOutLoss),
    curve('held-out accuracy', 'accuracy', (s) => s.stats.heldOutAccuracy),
    curve('golden-question accuracy', 'accuracy', (s) => golden.get(s.id)),
    // The stopping signal: where it flattens near 0 (and held-out accuracy with it), more labels stop paying.
    curve('unannotated images changed since previous', 'accuracy', (s) => changed.get(s.id)),
  ].filter((c) => c.points.length > 0);
}

/** Columns a terminal chart spreads its points over (a few states would otherwise make a chart a few columns wide). */
const TERMINAL_WIDTH = 60;
const TERMINAL_HEIGHT = 8;

/** The curve's values at `columns` evenly spaced versions between its first and last, straight lines between states. */
function resample(points: readonly Point[], columns: number): number[] {
  if (points.length === 1) return new Array<number>(columns).fill(points[0]!.value);
  const first = points[0]!.version;
  const last = points.at(-1)!.version;
  return Array.from({ length: columns }, (_, i) => {
    const version = first + ((last - first) * i) / (columns - 1);
    const right = points.findIndex((p) => p.version >= version);
    const b = points[right]!;
    const a = points[Math.max(0, right - 1)]!;
    return b.version === a.version ? b.value : a.value + ((b.value - a.value) * (version - a.version)) / (b.version - a.version);
  });
}

/** One terminal chart per curve: its name, the chart, and the versions it spans. */
export function terminalPlot(curves: readonly Curve[], colour: boolean): string {
  if (curves.length === 0) return 'no statistics to plot (the model reports no loss or accuracy, and no golden questions were scored)';
  return curves.map((c) => {
    const first = c.points[0]!.version;
    const last = c.points.at(-1)!.version;
    const columns = Math.max(c.points.length, c.points.length > 1 ? TERMINAL_WIDTH : 1);
    const chart = asciichart.plot(resample(c.points, columns), {
      height: TERMINAL_HEIGHT,
      ...(c.unit === 'accuracy' ? { min: 0, max: 1 } : {}),
      ...(colour ? { colors: [c.unit === 'loss' ? asciichart.red : asciichart.green] } : {}),
      format: (x: number) => (c.unit === 'accuracy' ? `${(100 * x).toFixed(0)} %` : x.toPrecision(3)).padStart(8),
    });
    const span = first === last ? `v${first}` : `v${first} → v${last}`;
    return `${c.name} (${c.points.length} state${c.points.length === 1 ? '' : 's'}, ${span})\n${chart}`;
  }).join('\n\n');
}

const SVG_WIDTH = 640;
const SVG_PANEL_HEIGHT = 260;

/** The DOM types as Plot names them (this project compiles without the DOM library). */
type PlotDocument = NonNullable<Plot.PlotOptions['document']>;
type PlotElement = ReturnType<typeof Plot.plot>;

/** One panel: the curves of one unit, a line and dots each, named at their last point. */
function panel(document: PlotDocument, curves: readonly Curve[], unit: Curve['unit']): PlotElement {
  const rows = curves.flatMap((c) => c.points.map((p) => ({ ...p, curve: c.name })));
  const versions = rows.map((r) => r.version);
  return Plot.plot({
    document,
    width: SVG_WIDTH,
    height: SVG_PANEL_HEIGHT,
    marginRight: 170,
    x: { label: 'model state version', domain: [Math.min(...versions), Math.max(...versions)], ticks: Math.min(10, new Set(versions).size), tickFormat: 'd' },
    y: unit === 'accuracy' ? { label: 'accuracy', domain: [0, 1], tickFormat: '.0%', grid: true } : { label: 'loss', grid: true, zero: true },
    color: { type: 'categorical' },
    marks: [
      Plot.lineY(rows, { x: 'version', y: 'value', stroke: 'curve' }),
      Plot.dot(rows, { x: 'version', y: 'value', fill: 'curve', r: 3 }),
      Plot.text(rows, Plot.selectLast({ x: 'version', y: 'value', z: 'curve', text: 'curve', fill: 'curve', textAnchor: 'start', dx: 6 })),
    ],
  });
}

/** An SVG document: a loss panel above an accuracy panel (whichever have curves). */
export function svgPlot(curves: readonly Curve[], title: string): string {
  const { document } = parseHTML('<!doctype html><html><body></body></html>');
  const panels = (['loss', 'accuracy'] as const)
    .map((unit) => curves.filter((c) => c.unit === unit))
    .filter((group) => group.length > 0)
    .map((group) => panel(document as unknown as PlotDocument, group, group[0]!.unit));
  const titleHeight = 28;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  const height = titleHeight + Math.max(1, panels.length) * SVG_PANEL_HEIGHT;
  for (const [k, v] of Object.entries({ xmlns: 'http://www.w3.org/2000/svg', width: SVG_WIDTH, height, viewBox: `0 0 ${SVG_WIDTH} ${height}` })) svg.setAttribute(k, String(v));
  const heading = document.createElementNS('http://www.w3.org/2000/svg', 'text');
  for (const [k, v] of Object.entries({ x: 8, y: 20, 'font-family': 'system-ui, sans-serif', 'font-size': 15 })) heading.setAttribute(k, String(v));
  heading.textContent = panels.length > 0 ? title : `${title}: no statistics to plot`;
  svg.appendChild(heading);
  panels.forEach((p, i) => {
    // Nested <svg>s place each panel; Plot's own xmlns stays on them, harmless inside another svg.
    p.setAttribute('y', String(titleHeight + i * SVG_PANEL_HEIGHT));
    svg.appendChild(p as unknown as typeof heading);
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${svg.toString()}\n`;
}

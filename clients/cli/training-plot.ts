/**
 * Training curves of a project's model states — training loss, held-out and
 * golden-question accuracy, the share of unannotated images whose class
 * changed since the previous state, by state version — for `aide states stats --plot`:
 * line charts in the terminal (asciichart), or an SVG file (training-plot-svg.ts).
 */
import asciichart from 'asciichart';
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

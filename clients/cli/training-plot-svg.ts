/**
 * Training curves as an SVG file, for `aide states stats --plot FILE.svg`:
 * Observable Plot rendered on linkedom's DOM (no browser). A module of its
 * own, loaded when a file is asked for: the two libraries take more start-up
 * time than the rest of the CLI.
 */
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import type { Curve } from './training-plot.js';

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

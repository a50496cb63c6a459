/**
 * Where a per-pixel class map (segmentation) has something to learn from: its
 * labelled areas, i.e. 4-connected pixels of one class, as extents to cut
 * training windows around (trainingWindows). Areas are joined run by run
 * (union-find over each row's runs of one value), so memory follows the runs,
 * not the pixels of a large image.
 */
import type { RelativeExtent } from './windows.js';

interface Run {
  start: number;
  end: number;
  value: number;
  /** Its area in the union-find. */
  area: number;
}

/**
 * The areas of `values` (width×height, row-major) as extents relative to the
 * map: one per connected area of one value that `isArea` accepts (by default
 * any but negative = unlabelled), in order of their first pixel.
 */
export function labelledAreas(values: ArrayLike<number>, width: number, height: number, isArea = (value: number) => value >= 0): RelativeExtent[] {
  const parent: number[] = [];
  // Bounding box per area (pixels, half-open), merged into the root on union.
  const [x0, y0, x1, y1]: number[][] = [[], [], [], []];
  const root = (a: number): number => {
    while (parent[a] !== a) a = parent[a] = parent[parent[a]!]!;
    return a;
  };
  const join = (a: number, b: number) => {
    const [ra, rb] = [root(a), root(b)];
    if (ra === rb) return;
    // The older area stays the root, keeping the order of first pixels.
    const [keep, drop] = ra < rb ? [ra, rb] : [rb, ra];
    parent[drop] = keep;
    x0[keep] = Math.min(x0[keep]!, x0[drop]!);
    y0[keep] = Math.min(y0[keep]!, y0[drop]!);
    x1[keep] = Math.max(x1[keep]!, x1[drop]!);
    y1[keep] = Math.max(y1[keep]!, y1[drop]!);
  };
  let above: Run[] = [];
  for (let y = 0; y < height; y++) {
    const row: Run[] = [];
    let first = 0; // the first run above that may still touch this row's runs
    for (let start = 0, end = 0; start < width; start = end) {
      const value = values[y * width + start]!;
      end = start + 1;
      while (end < width && values[y * width + end] === value) end++;
      if (!isArea(value)) continue;
      const area = parent.length;
      parent.push(area);
      x0.push(start); y0.push(y); x1.push(end); y1.push(y + 1);
      // Runs above that overlap this one's columns touch it (4-connected).
      while (first < above.length && above[first]!.end <= start) first++;
      for (let k = first; k < above.length && above[k]!.start < end; k++) if (above[k]!.value === value) join(above[k]!.area, area);
      row.push({ start, end, value, area });
    }
    above = row;
  }
  return parent.flatMap((p, a) => (p !== a ? [] : [{
    x: (x0[a]! + x1[a]!) / 2 / width,
    y: (y0[a]! + y1[a]!) / 2 / height,
    width: (x1[a]! - x0[a]!) / width,
    height: (y1[a]! - y0[a]!) / height,
  }]));
}

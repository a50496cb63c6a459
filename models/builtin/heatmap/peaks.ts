/**
 * From a heatmap network's output (one image: grid × grid × (classes + R),
 * raw heatmap logits first) to objects: cells whose best class score is a
 * local maximum of its 3×3 neighbourhood (CenterNet's max-pool NMS) and at
 * least a threshold, strongest first, each with its refined centre and its
 * regression values. Coordinates are relative to the network input.
 */

export interface Peak {
  /** Centre relative to the input: (cell + regressed offset) / grid. */
  x: number;
  y: number;
  /** sigmoid of the best allowed class's logit. */
  score: number;
  /** Output index of that class. */
  classIndex: number;
  /** Raw heatmap logits of every class at the peak, in output order. */
  logits: number[];
  /** Regression channels after the offset (for boxes: log width and height in cells). */
  extra: number[];
}

export interface PeakOptions {
  grid: number;
  classes: number;
  /** Regression channels per cell (offset x, y, then extra). */
  regression: number;
  /** Minimum score (sigmoid of the logit). */
  threshold: number;
  /** At most this many, strongest first. */
  maxPeaks: number;
  /** Classes allowed as a peak's class; default all. */
  allowed?: readonly boolean[];
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function findPeaks(output: Float32Array, o: PeakOptions): Peak[] {
  const { grid: g, classes } = o;
  const channels = classes + o.regression;
  if (output.length !== g * g * channels) throw new Error(`heatmap output has ${output.length} values, expected ${g}×${g}×${channels}`);
  // Best allowed class logit per cell.
  const best = new Float32Array(g * g).fill(-Infinity);
  const bestClass = new Int32Array(g * g);
  for (let i = 0; i < g * g; i++) {
    for (let c = 0; c < classes; c++) {
      const v = output[i * channels + c]!;
      if ((o.allowed?.[c] ?? true) && v > best[i]!) { best[i] = v; bestClass[i] = c; }
    }
  }
  const minLogit = Math.log(o.threshold / (1 - o.threshold));
  const peaks: Peak[] = [];
  for (let y = 0; y < g; y++) {
    for (let x = 0; x < g; x++) {
      const i = y * g + x;
      const v = best[i]!;
      if (!(v >= minLogit)) continue;
      // A plateau keeps its first cell in reading order only.
      let isMax = true;
      for (let dy = -1; dy <= 1 && isMax; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const [nx, ny] = [x + dx, y + dy];
          if ((dx === 0 && dy === 0) || nx < 0 || ny < 0 || nx >= g || ny >= g) continue;
          const n = best[ny * g + nx]!;
          if (n > v || (n === v && ny * g + nx < i)) { isMax = false; break; }
        }
      }
      if (!isMax) continue;
      const base = i * channels;
      const regression = Array.from(output.subarray(base + classes, base + channels));
      const within = (offset: number) => Math.min(1, Math.max(0, offset));
      peaks.push({
        x: (x + within(regression[0]!)) / g,
        y: (y + within(regression[1]!)) / g,
        score: sigmoid(v),
        classIndex: bestClass[i]!,
        logits: Array.from(output.subarray(base, base + classes)),
        extra: regression.slice(2),
      });
    }
  }
  return peaks.sort((a, b) => b.score - a.score).slice(0, o.maxPeaks);
}

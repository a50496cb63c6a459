/**
 * Training statistics of a segmentation round on its held-out images, at the
 * network's resolution and over labelled pixels only: pixel accuracy, mean
 * intersection-over-union across the outputs that occur (in truth or
 * prediction), and mean cross-entropy per pixel.
 */
export interface HeldOutStats {
  heldOutPixelAccuracy: number;
  heldOutMeanIoU: number;
  heldOutLoss: number;
}

/** probs[i]: [pixels, outputs] of held-out image i; targets[i]: its output per pixel (−1 ignored). */
export function heldOutStats(probs: readonly Float32Array[], targets: readonly Int16Array[], outputs: number): HeldOutStats | undefined {
  const intersection = new Float64Array(outputs);
  const union = new Float64Array(outputs);
  let labelled = 0;
  let correct = 0;
  let loss = 0;
  targets.forEach((target, i) => {
    const p = probs[i]!;
    for (let px = 0; px < target.length; px++) {
      const truth = target[px]!;
      if (truth < 0) continue;
      let best = 0;
      for (let k = 1; k < outputs; k++) if (p[px * outputs + k]! > p[px * outputs + best]!) best = k;
      labelled++;
      loss -= Math.log(Math.max(p[px * outputs + truth]!, 1e-12));
      if (best === truth) { correct++; intersection[truth]!++; union[truth]!++; } else { union[truth]!++; union[best]!++; }
    }
  });
  if (labelled === 0) return undefined;
  const occurring = [...union.keys()].filter((k) => union[k]! > 0);
  const meanIoU = occurring.reduce((sum, k) => sum + intersection[k]! / union[k]!, 0) / occurring.length;
  return { heldOutPixelAccuracy: correct / labelled, heldOutMeanIoU: meanIoU, heldOutLoss: loss / labelled };
}

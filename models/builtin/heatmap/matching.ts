/**
 * Greedy matching of scored predictions to ground truth, as detection
 * benchmarks do: strongest prediction first, each takes the still unmatched
 * truth it resembles most, if at least `minimum` alike.
 */
export function matchGreedy<P extends { score: number }, G>(
  predictions: readonly P[],
  truths: readonly G[],
  similarity: (p: P, g: G) => number,
  minimum: number,
): { prediction: P; truth: number }[] {
  const taken = new Set<number>();
  return [...predictions].sort((a, b) => b.score - a.score).map((prediction) => {
    let truth = -1;
    let bestSimilarity = minimum;
    truths.forEach((g, k) => {
      if (taken.has(k)) return;
      const s = similarity(prediction, g);
      if (s >= bestSimilarity) { bestSimilarity = s; truth = k; }
    });
    if (truth >= 0) taken.add(truth);
    return { prediction, truth };
  });
}

/** Splits items into at most k disjoint, non-empty shards of near-equal size (round robin keeps classes mixed). */
export function shard<T>(items: readonly T[], k: number): T[][] {
  const n = Math.max(1, Math.min(k, items.length));
  const shards: T[][] = Array.from({ length: n }, () => []);
  items.forEach((item, i) => shards[i % n]!.push(item));
  return shards.filter((s) => s.length > 0);
}

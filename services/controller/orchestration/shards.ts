/** Splits items into at most k disjoint, non-empty shards of near-equal size (round robin keeps classes mixed). */
export function shard<T>(items: readonly T[], k: number): T[][] {
  const n = Math.max(1, Math.min(k, items.length));
  const shards: T[][] = Array.from({ length: n }, () => []);
  items.forEach((item, i) => shards[i % n]!.push(item));
  return shards.filter((s) => s.length > 0);
}

/**
 * Training shards cut in path order, not in the order the images were
 * selected in (by annotation time, then id): the same labelled files give
 * the same shards, so a training run can be repeated, in this project or another.
 */
export function shardByPath<T extends { filename: string }>(images: readonly T[], k: number): T[][] {
  return shard([...images].sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0)), k);
}

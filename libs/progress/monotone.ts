/**
 * A progress bar that never goes back: each done/total is passed through when
 * its fraction is at least the last one's, else raised to it (on its own
 * total). Phases that restart counting (loading 30/30, then batch 1/30) and
 * retried work (a shard starting over) then hold the bar instead of dropping
 * it. A total of 0 (no bar) passes through.
 */
export function monotoneProgress(): (done: number, total: number) => { done: number; total: number } {
  let shown = 0;
  return (done, total) => {
    if (total <= 0) return { done, total };
    if (done / total < shown) done = Math.min(total, Math.ceil(shown * total - 1e-9));
    shown = Math.max(shown, Math.min(done / total, 1));
    return { done, total };
  };
}

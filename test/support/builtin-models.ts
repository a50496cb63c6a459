/**
 * Helpers for tests of the built-in models: options changed field by field,
 * the state of a train() result, cancellation after a number of batches, and
 * whether the rankers put a model's wrong predictions before its right ones.
 */
import assert from 'node:assert/strict';
import type { PluginOptions } from '../../libs/plugin/context.js';
import type { ImagePredictionsMap, LabelPrediction } from '../../libs/plugin/data.js';
import { probeContext } from '../../libs/plugin/probe.js';
import { BreakingTiesRanker } from '../../models/rankers/breaking-ties.js';
import { EntropyRanker } from '../../models/rankers/entropy.js';
import { LeastConfidenceRanker } from '../../models/rankers/least-confidence.js';
import { MaxConfidenceRanker } from '../../models/rankers/max-confidence.js';
import type { TrainResult, UpdateState } from '../../libs/plugin/plugin.js';

/**
 * The model tests train on one replica thread: at their 16–64 pixel inputs a second replica (the default on 2
 * cores) took 30 % more CPU for the same wall time (segmentation: 45 against 32 CPU-s, 26 against 25 s), and the
 * suite runs files side by side on 2 cores. Splitting batches over replicas has its own tests (runtime.test.ts),
 * and the demo and mesh tests train with the defaults.
 */
export const ONE_THREAD = { 'runtime.threads': 1 } as const;

/** Default options (a model's getDefaultOptions()) with some fields changed, e.g. { 'training.epochs': 2 }. */
export function optionsWith(defaults: string, changes: Record<string, unknown>): PluginOptions {
  const opts = JSON.parse(defaults) as { options: Record<string, Record<string, { value: unknown }>> };
  for (const [key, value] of Object.entries(changes)) {
    const [group, field] = key.split('.') as [string, string];
    opts.options[group]![field]!.value = value;
  }
  return opts;
}

export const stateOf = (r: TrainResult) => (r instanceof Uint8Array ? r : r.state);

/**
 * Runs a training that is aborted once it reports training batch `at`, and
 * checks it stops there with an AbortError, having reported batches 1…at
 * on a bar that never went back (loading, then training).
 */
export async function expectStopsAtBatch(train: (update: UpdateState, signal: AbortSignal) => Promise<unknown>, at: number): Promise<void> {
  const controller = new AbortController();
  const batches: number[] = [];
  // The step's bar counts the loaded images first: batch 1 is the first training report's done.
  let loaded: number | undefined;
  let fraction = 0;
  const run = train((state, message, done, total) => {
    if (done !== undefined && total) {
      assert.ok(done / total >= fraction, `the bar went back: ${fraction} → ${done}/${total} (${message})`);
      fraction = done / total;
    }
    if (state === 'PROGRESS' && message?.startsWith('training')) {
      loaded ??= done! - 1;
      batches.push(done! - loaded);
      if (done! - loaded === at) controller.abort();
    }
  }, controller.signal);
  await assert.rejects(run, { name: 'AbortError' });
  assert.deepEqual(batches, Array.from({ length: at }, (_, i) => i + 1));
}

/** The chance that a random wrong prediction has a higher priority than a random right one (ties count half): 1 = perfect, 0.5 = blind. */
function wrongFirst(wrong: readonly number[], right: readonly number[]): number {
  let above = 0;
  for (const w of wrong) for (const r of right) above += w > r ? 1 : w === r ? 0.5 : 0;
  return above / (wrong.length * right.length);
}

/**
 * Ranks real predictions with the built-in uncertainty rankers and checks
 * each puts wrong predictions (isRight false) before right ones (> 0.7 of
 * pairs), and max confidence the reverse (< 0.3). Needs some of each.
 */
export async function expectUncertainFirst<P extends LabelPrediction>(predictions: ImagePredictionsMap<P>, isRight: (p: P) => boolean): Promise<void> {
  const all = Object.values(predictions).flatMap((p) => p.predictions);
  const right = all.filter(isRight);
  assert.ok(all.length - right.length >= 5 && right.length >= 20, `${all.length - right.length} wrong, ${right.length} right predictions`);
  for (const Ranker of [LeastConfidenceRanker, BreakingTiesRanker, EntropyRanker, MaxConfidenceRanker]) {
    await new Ranker(probeContext({})).rank(predictions, () => {});
    const priorities = (want: boolean) => all.filter((p) => isRight(p) === want).map((p) => p.priority!);
    const order = wrongFirst(priorities(false), priorities(true));
    if (Ranker === MaxConfidenceRanker) assert.ok(order < 0.3, `max confidence puts right predictions first: ${order}`);
    else assert.ok(order > 0.7, `${Ranker.name}: wrong before right ${order}`);
  }
}

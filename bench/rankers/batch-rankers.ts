/**
 * Batch rankers at pool scale: builtin.coreset (k-center greedy) and
 * builtin.badge (k-means++ on implicit gradient embeddings) selecting a batch
 * jointly over N candidates, against builtin.breaking_ties scoring the same
 * pool image by image (the per-image ranking they replace) in the same run.
 *
 *   node --import tsx bench/rankers/batch-rankers.ts [--images 100000] [--dim 64] [--classes 10] [--annotated 200] [--batch 200]
 *
 * The pool (random embeddings and logits; `annotated` of the images marked
 * annotated: the coreset's starting centres) is generated in memory first and
 * handed to each ranker as the Ranker service does: batches of 256 images.
 * Per ranker: wall and CPU seconds of one run, and in a second run the
 * peak of heap + external memory (array buffers, WebAssembly memories), sampled after a GC at its progress reports,
 * above what is left after it (the pool alone).
 */
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import { parseArgs } from 'node:util';
import seedrandom from 'seedrandom';
import type { RankData } from '../../libs/plugin/data.js';
import { isBatchRanker, type BatchRanker, type Ranker } from '../../libs/plugin/plugin.js';
import { probeContext } from '../../libs/plugin/probe.js';
import { BadgeRanker } from '../../models/rankers/badge.js';
import { BreakingTiesRanker } from '../../models/rankers/breaking-ties.js';
import { CoresetRanker } from '../../models/rankers/coreset.js';

const { values } = parseArgs({ options: {
  images: { type: 'string', default: '100000' }, dim: { type: 'string', default: '64' }, classes: { type: 'string', default: '10' },
  annotated: { type: 'string', default: '200' }, batch: { type: 'string', default: '200' },
} });
const N = Number(values.images);
const DIM = Number(values.dim);
const CLASSES = Number(values.classes);
const ANNOTATED = Number(values.annotated);
const BATCH = Number(values.batch);
const SERVICE_BATCH = 256;

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const random = seedrandom('bench');
const pool: RankData[] = [];
for (let start = 0; start < N; start += SERVICE_BATCH) {
  const batch: RankData = {};
  for (let i = start; i < Math.min(N, start + SERVICE_BATCH); i++) {
    const logits = Array.from({ length: CLASSES }, () => random() * 4);
    batch[`img-${i}`] = {
      predictions: [{ id: `p-${i}`, label: 'c', confidence: 0.5, logits }],
      embedding: Float32Array.from({ length: DIM }, () => random()),
      ...(i < ANNOTATED ? { annotated: true } : {}),
    };
  }
  pool.push(batch);
}

const used = () => { const m = process.memoryUsage(); return m.heapUsed + m.external; };

/** A full GC, and time for V8 to release freed buffers and WebAssembly memories (it sweeps them concurrently). */
async function settle(): Promise<void> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 200));
  gc();
}

/** One run of the ranker over the pool; `progress` sees its updateState calls. */
async function runOnce(name: string, ranker: Ranker | BatchRanker, progress: () => void): Promise<void> {
  if (isBatchRanker(ranker)) {
    async function* batches() { for (const b of pool) yield b; }
    const selection = await ranker.selectBatch(batches(), progress, { poolSize: N });
    if (selection.selected.length !== Math.min(BATCH, N - ANNOTATED)) throw new Error(`${name} selected ${selection.selected.length}`);
  } else {
    for (const b of pool) await ranker.rank(b, progress);
  }
}

/** Timed run (nothing else in it), then a run that samples memory after a GC at its progress reports (at most every 100 ms). */
async function measure(name: string, make: () => Ranker | BatchRanker) {
  gc();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await runOnce(name, make(), () => {});
  const wall = (performance.now() - started) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  await settle(); // the timed run's memory released, so the peak below counts this run's only
  let peak = 0;
  let last = 0;
  const sample = () => {
    if (performance.now() - last < 100) return;
    gc();
    peak = Math.max(peak, used());
    last = performance.now();
  };
  await runOnce(name, make(), sample);
  // The baseline after the run, its ranker gone: the pool alone.
  await settle();
  const growth = Math.max(0, peak - used());
  return { name, wall, cpu: (user + system) / 1e6, peakMiB: growth / 1024 ** 2 };
}

const options = probeContext({ options: { batch_size: BATCH, seed: 0 } });
const rows = [
  await measure('breaking_ties (per image, reference)', () => new BreakingTiesRanker(probeContext({}))),
  await measure('coreset', () => new CoresetRanker(options)),
  await measure('badge', () => new BadgeRanker(options)),
];
console.log(`${N} candidates (${ANNOTATED} annotated), embeddings of ${DIM}, ${CLASSES} classes, batch ${BATCH}; node ${process.version}\n`);
console.log('| ranker | wall s | CPU s | memory growth MiB |\n|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.wall.toFixed(2)} | ${r.cpu.toFixed(2)} | ${r.peakMiB.toFixed(1)} |`);
const tag = N >= 1000 && N % 1000 === 0 ? `${N / 1000}k` : String(N);
console.log('');
console.log(`figure coreset_select_${tag}_s ${rows[1]!.wall.toFixed(2)}`);
console.log(`figure badge_select_${tag}_s ${rows[2]!.wall.toFixed(2)}`);
console.log(`figure breaking_ties_rank_${tag}_s ${rows[0]!.wall.toFixed(2)}`);
// CPU seconds too: on a shared machine the wall time measures the other tenants as much as the ranker.
console.log(`figure coreset_select_${tag}_cpu_s ${rows[1]!.cpu.toFixed(2)}`);
console.log(`figure badge_select_${tag}_cpu_s ${rows[2]!.cpu.toFixed(2)}`);
console.log(`figure breaking_ties_rank_${tag}_cpu_s ${rows[0]!.cpu.toFixed(2)}`);
console.log(`figure coreset_memory_${tag}_mib ${rows[1]!.peakMiB.toFixed(1)}`);
console.log(`figure badge_memory_${tag}_mib ${rows[2]!.peakMiB.toFixed(1)}`);
console.log(`figure nxn_matrix_${tag}_mib ${((N * N * 4) / 1024 ** 2).toFixed(0)}`);

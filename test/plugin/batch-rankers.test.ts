import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import seedrandom from 'seedrandom';
import type { RankData } from '../../libs/plugin/data.js';
import { rankInMemory } from '../../libs/plugin/pool-selection.js';
import type { BatchRanker, PoolSelection } from '../../libs/plugin/plugin.js';
import { probeContext } from '../../libs/plugin/probe.js';
import { BadgeRanker } from '../../models/rankers/badge.js';
import { BreakingTiesRanker } from '../../models/rankers/breaking-ties.js';
import { CoresetRanker } from '../../models/rankers/coreset.js';

const quiet = () => {};

interface Point {
  id: string;
  x: number[];
  /** Class probabilities of the image's prediction. */
  p: number[];
  annotated?: boolean;
}

const rankData = (points: readonly Point[]): RankData => Object.fromEntries(points.map((pt) => [pt.id, {
  predictions: [{ id: `${pt.id}-p`, label: 'c0', confidence: Math.max(...pt.p), logits: pt.p }],
  embedding: Float32Array.from(pt.x),
  ...(pt.annotated ? { annotated: true } : {}),
}]));

async function* batchesOf(data: RankData, size: number): AsyncGenerator<RankData> {
  const entries = Object.entries(data);
  for (let i = 0; i < entries.length; i += size) yield Object.fromEntries(entries.slice(i, i + size));
}

const select = (ranker: BatchRanker, points: readonly Point[]): Promise<PoolSelection> =>
  ranker.selectBatch(batchesOf(rankData(points), 16), quiet, { poolSize: points.length });

const options = (batchSize: number, seed = 0) => probeContext({ options: { batch_size: batchSize, seed } });

const distance = (a: readonly number[], b: readonly number[]) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0));

/** The largest distance from any point to its nearest chosen or annotated point: how well the batch covers the pool. */
const coverageRadius = (points: readonly Point[], chosen: readonly string[]) => {
  const centres = points.filter((p) => p.annotated || chosen.includes(p.id));
  return Math.max(...points.map((p) => Math.min(...centres.map((c) => distance(p.x, c.x)))));
};

/** 200 points spread over [0, 1]⁸ with moderate uncertainty, and 40 near-duplicates of one image the model finds the hardest. */
function plantedDuplicates(): Point[] {
  const random = seedrandom('planted');
  const spread: Point[] = Array.from({ length: 200 }, (_, i) => {
    const top = 0.6 + 0.35 * random();
    return { id: `s${String(i).padStart(3, '0')}`, x: Array.from({ length: 8 }, () => random()), p: [top, (1 - top) * 0.7, (1 - top) * 0.3] };
  });
  const centre = Array.from({ length: 8 }, () => random());
  const duplicates: Point[] = Array.from({ length: 40 }, (_, i) => ({
    id: `d${String(i).padStart(3, '0')}`, x: centre.map((v) => v + (random() - 0.5) * 1e-3), p: [0.34, 0.33, 0.33],
  }));
  return [...duplicates, ...spread];
}

describe('batch rankers', () => {
  it('coreset picks one point of each well-separated group, none near the annotated group', async () => {
    const random = seedrandom('groups');
    const corners = [[0, 0], [10, 0], [0, 10], [10, 10], [5, 5]];
    const points: Point[] = corners.flatMap((c, g) => Array.from({ length: 10 }, (_, i) => ({
      id: `g${g}-${i}`, x: c.map((v) => v + random() * 0.5), p: [0.5, 0.5], annotated: g === 4 && i === 0,
    })));
    const { selected } = await select(new CoresetRanker(options(4)), points);
    assert.equal(selected.length, 4);
    assert.deepEqual(selected.map((id) => id.split('-')[0]).sort(), ['g0', 'g1', 'g2', 'g3'], 'one per group, the annotated group left out');
  });

  it('on a planted near-duplicate cluster, coreset and BADGE cover the pool where top-k uncertainty picks duplicates', async () => {
    const points = plantedDuplicates();
    const k = 20;
    const ranked = await rankInMemory(new BreakingTiesRanker(probeContext({})), rankData(points), quiet);
    const topK = Object.entries(ranked).sort((a, b) => b[1].predictions[0]!.priority! - a[1].predictions[0]!.priority!).slice(0, k).map(([id]) => id);
    const coreset = (await select(new CoresetRanker(options(k)), points)).selected;
    const badge = (await select(new BadgeRanker(options(k)), points)).selected;
    const duplicatesIn = (ids: readonly string[]) => ids.filter((id) => id.startsWith('d')).length;
    assert.equal(duplicatesIn(topK), k, 'top-k uncertainty takes the whole batch from the cluster');
    assert.ok(duplicatesIn(coreset) <= 1, `coreset took ${duplicatesIn(coreset)} duplicates`);
    assert.ok(duplicatesIn(badge) <= 2, `BADGE took ${duplicatesIn(badge)} duplicates`);
    assert.ok(duplicatesIn(badge) >= 1, 'BADGE takes the most uncertain image first');
    const radius = { topK: coverageRadius(points, topK), coreset: coverageRadius(points, coreset), badge: coverageRadius(points, badge) };
    assert.ok(radius.coreset < 0.8 * radius.topK, `coverage radius: coreset ${radius.coreset}, top-k ${radius.topK}`);
    assert.ok(radius.badge < 0.9 * radius.topK, `coverage radius: BADGE ${radius.badge}, top-k ${radius.topK}`);
  });

  it('priorities follow the selection order, the rest below the batch, annotated images at 0', async () => {
    const points = plantedDuplicates().slice(30);
    points[5]!.annotated = true;
    const data = rankData(points);
    const ranker = new CoresetRanker(options(5));
    const selection = await ranker.selectBatch(batchesOf(rankData(points), 16), quiet);
    const ranked = await rankInMemory(new CoresetRanker(options(5)), data, quiet, undefined, 'builtin.coreset');
    const priority = (id: string) => ranked[id]!.predictions[0]!.priority!;
    assert.deepEqual(selection.selected.map(priority), [1, 0.9, 0.8, 0.7, 0.6]);
    const rest = points.filter((p) => !selection.selected.includes(p.id));
    assert.ok(rest.every((p) => priority(p.id) >= 0 && priority(p.id) <= 0.5));
    assert.equal(priority(points[5]!.id), 0);
    // The best of the rest is where a sixth pick would go.
    const sixth = (await new CoresetRanker(options(6)).selectBatch(batchesOf(rankData(points), 16), quiet)).selected[5]!;
    assert.equal(Math.max(...rest.map((p) => priority(p.id))), priority(sixth));
  });

  it('refuses a pool whose images carry no embeddings', async () => {
    const data: RankData = { a: { predictions: [{ label: 'c', confidence: 0.5 }] } };
    await assert.rejects(new CoresetRanker(options(2)).selectBatch(batchesOf(data, 1), quiet), /image a has none/);
  });

  it('select at 10^5 candidates within a memory bound (no n × n matrix)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const n = 100_000;
    const dim = 64;
    const classes = 10;
    async function* pool(): AsyncGenerator<RankData> {
      const random = seedrandom('large');
      for (let start = 0; start < n; start += 500) {
        const batch: RankData = {};
        for (let i = start; i < start + 500; i++) {
          const logits = Array.from({ length: classes }, () => random() * 4);
          batch[`img-${i}`] = {
            predictions: [{ id: `p-${i}`, label: 'c', confidence: 0.5, logits }],
            embedding: Float32Array.from({ length: dim }, () => random()),
            ...(i < 20 ? { annotated: true } : {}),
          };
        }
        yield batch;
      }
    }
    const used = () => { const m = process.memoryUsage(); return m.heapUsed + m.external; };
    /** The selection, and the peak of heap + external memory (array buffers, WebAssembly memories) after a GC at its progress reports. */
    async function selectMeasured(ranker: BatchRanker): Promise<{ selected: string[]; peak: number }> {
      let peak = 0;
      let checks = 0;
      const { selected } = await ranker.selectBatch(pool(), () => {
        if (checks++ % 8 === 0) { gc(); peak = Math.max(peak, used()); }
      }, { poolSize: n });
      return { selected: [...selected], peak };
    }
    /** Heap + array buffers after a full GC, and time for V8 to release freed buffers (it sweeps them concurrently). */
    const settled = async () => {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 100));
      gc();
      return used();
    };
    for (const ranker of [new CoresetRanker(options(20)), new BadgeRanker(options(20))]) {
      const before = await settled();
      const summary = { ...await selectMeasured(ranker), name: ranker.constructor.name };
      const held = summary.peak - before;
      assert.equal(summary.selected.length, 20);
      assert.equal(new Set(summary.selected).size, 20);
      assert.ok(summary.selected.every((id) => Number(id.slice(4)) >= 20), 'no annotated image selected');
      // The pool's embeddings alone take n × dim × 4 = 25.6 MB; an n × n float32 matrix would take 40 GB.
      const bound = 150 * 1024 ** 2;
      assert.ok(held > n * dim * 4 * 0.9, `measured ${held} bytes: the measurement sees the pool's embeddings`);
      assert.ok(held < bound, `${summary.name} held ${Math.round(held / 1024 ** 2)} MiB at 10^5 candidates (bound ${bound / 1024 ** 2} MiB)`);
    }
  });
});

/**
 * Training and inference images/s of the built-in classifier's network on
 * this machine's TensorFlow.js backend (data-parallel replicas, one per core
 * by default) against the same network in PyTorch on the CPU with as many
 * threads, on the same images and batch size. Rounds alternate between the two so load from
 * other processes hits both alike; ratios are per round.
 *
 *   node --import tsx bench/models/classifier-vs-pytorch.ts [--rounds 3] [--steps 60]
 *        [--size 64] [--width 16] [--depth 2] [--batch 16] [--threads 0]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import seedrandom from 'seedrandom';
import { Adam } from '../../models/builtin/adam.js';
import { CLASSIFIER_NETWORK, classifierSpecs, type ClassifierArch } from '../../models/builtin/classifier/network.js';
import { initialParameters } from '../../models/builtin/network.js';
import { ReplicaPool } from '../../models/builtin/replica-pool.js';
import type { Batch } from '../../models/builtin/replica-protocol.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '60' },
    size: { type: 'string', default: '64' },
    width: { type: 'string', default: '16' },
    depth: { type: 'string', default: '2' },
    batch: { type: 'string', default: '16' },
    threads: { type: 'string', default: '0' },
  },
});
const [rounds, steps, size, width, depth, batchSize, threads] =
  [args.rounds, args.steps, args.size, args.width, args.depth, args.batch, args.threads].map(Number) as number[];
const arch: ClassifierArch = { inputSize: size!, width: width!, depth: depth!, classes: 4 };
const IMAGES = 256;
const TORCH_SCRIPT = fileURLToPath(new URL('./classifier_torch.py', import.meta.url));

/** Random images with a bright square: content does not change the speed, only the shapes do. */
function makeData(): { images: Float32Array; labels: Int32Array; targets: Float32Array } {
  const random = seedrandom('bench');
  const images = Float32Array.from({ length: IMAGES * size! * size! * 3 }, () => random());
  const labels = Int32Array.from({ length: IMAGES }, (_, i) => i % arch.classes);
  // Our network takes one-hot targets (Network.targetShape = [classes]).
  const targets = new Float32Array(IMAGES * arch.classes);
  labels.forEach((label, i) => { targets[i * arch.classes + label] = 1; });
  return { images, labels, targets };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;

async function timeSteps(step: (k: number) => Promise<void>): Promise<number> {
  for (let k = 0; k < 3; k++) await step(k); // warm-up: kernels set up, XNNPACK operators created
  const start = performance.now();
  for (let k = 0; k < steps!; k++) await step(k);
  return (steps! * batchSize!) / ((performance.now() - start) / 1000);
}

async function oursOnce(pool: ReplicaPool, data: { images: Float32Array; targets: Float32Array }): Promise<{ train: number; infer: number }> {
  const params = initialParameters(classifierSpecs(arch), 0).map((t) => t.data);
  const adam = new Adam(params, { learningRate: 1e-3 });
  const pixels = size! * size! * 3;
  const perRound = Math.floor(IMAGES / batchSize!);
  const batch = (k: number): [Batch, Float32Array] => {
    const i = (k % perRound) * batchSize!;
    return [{ images: data.images.subarray(i * pixels, (i + batchSize!) * pixels), count: batchSize!, size: size! }, data.targets.subarray(i * arch.classes, (i + batchSize!) * arch.classes)];
  };
  const train = await timeSteps(async (k) => {
    const [b, targets] = batch(k);
    const { grads } = await pool.gradients(params, b, targets);
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i]! /= b.count;
    adam.step(params, grads);
  });
  const infer = await timeSteps(async (k) => { await pool.predict(params, batch(k)[0]); });
  return { train, infer };
}

function torchOnce(dir: string, torchThreads: number): { train: number; infer: number } {
  const run = spawnSync('/usr/bin/python3', [TORCH_SCRIPT, dir, ...[size, width, depth, arch.classes, batchSize, steps, torchThreads].map(String)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`PyTorch run failed: ${run.stderr}`);
  const out = JSON.parse(run.stdout.trim().split('\n').pop()!) as { train_img_s: number; infer_img_s: number };
  return { train: out.train_img_s, infer: out.infer_img_s };
}

const dir = await mkdtemp(path.join(tmpdir(), 'bench-classifier-'));
const data = makeData();
await writeFile(path.join(dir, 'images.f32'), new Uint8Array(data.images.buffer));
await writeFile(path.join(dir, 'labels.i32'), new Uint8Array(data.labels.buffer));
const pool = await ReplicaPool.start({ networkModule: CLASSIFIER_NETWORK, arch, threads });
console.log(`classifier ${JSON.stringify(arch)}, batch ${batchSize}, ${steps} steps per measurement; backend ${pool.backend}, ${pool.size} replica thread(s) vs PyTorch on as many threads; load average ${loadavg()[0]!.toFixed(1)}`);
const rows: { torch: { train: number; infer: number }; ours: { train: number; infer: number } }[] = [];
try {
  for (let r = 0; r < rounds!; r++) {
    const torch = torchOnce(dir, pool.size);
    const ours = await oursOnce(pool, data);
    rows.push({ torch, ours });
    console.log(`round ${r + 1}: train ${ours.train.toFixed(0)} vs PyTorch ${torch.train.toFixed(0)} img/s (×${(ours.train / torch.train).toFixed(2)}), ` +
      `inference ${ours.infer.toFixed(0)} vs ${torch.infer.toFixed(0)} img/s (×${(ours.infer / torch.infer).toFixed(2)})`);
  }
} finally {
  await pool.close();
  await rm(dir, { recursive: true, force: true });
}
for (const kind of ['train', 'infer'] as const) {
  const ratios = rows.map((row) => row.ours[kind] / row.torch[kind]);
  console.log(`${kind}: ours ${spread(rows.map((row) => row.ours[kind]))} img/s, PyTorch ${spread(rows.map((row) => row.torch[kind]))} img/s, ` +
    `ratio median ×${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`);
}

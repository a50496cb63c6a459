/**
 * The harness of the built-in-model benchmarks: training and inference
 * images/s of one of our networks on this machine's TensorFlow.js backend
 * (data-parallel replicas) against the same network in PyTorch on the CPU
 * with as many threads, on the same images, targets and batch size. Rounds
 * alternate between the two so load from other processes hits both alike;
 * ratios are per round. Besides images per wall-clock second, each side
 * reports images per CPU-second of its own process (all its threads): on a
 * shared machine that moves far less with the load, though thread pools that
 * spin while waiting (PyTorch's OpenMP) count the spinning too.
 *
 * The PyTorch script gets a folder with images.f32 ([n, size, size, 3]) and
 * targets.f32 ([n, ...targetShape]) and must print one JSON line
 * {"train_img_s", "infer_img_s", "train_img_cpu_s", "infer_img_cpu_s"} as its
 * last line (torch_common.report).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { Adam } from '../../models/builtin/adam.js';
import { initialParameters, type Arch, type ParamSpec } from '../../models/builtin/network.js';
import { ReplicaPool } from '../../models/builtin/replica-pool.js';
import type { Batch } from '../../models/builtin/replica-protocol.js';

export interface Workload {
  name: string;
  networkModule: URL;
  arch: Arch;
  specs: ParamSpec[];
  size: number;
  /** count × size × size × 3 values in [0, 1]. */
  images: Float32Array;
  /** count × per-image target floats. */
  targets: Float32Array;
  batchSize: number;
  steps: number;
  /** The PyTorch script and its arguments after the data folder. */
  torch: { script: string; args: (string | number)[] };
  /** What the model does with network outputs before they are predictions (e.g. a softmax), timed with inference. */
  finish?: (outputs: Float32Array) => void;
}

/** Images per wall-clock second and per CPU-second. */
type Rate = { wall: number; cpu: number };
type Speeds = { train: Rate; infer: Rate };

const UNIT = { wall: 'img/s', cpu: 'img/CPU-s' } as const;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;

/** `run(n)` does n steps (batches). */
async function imagesPerSecond(w: Workload, run: (steps: number) => Promise<void>): Promise<Rate> {
  await run(3); // warm-up: kernels set up, XNNPACK operators created
  const start = performance.now();
  const cpu = process.cpuUsage(); // the whole process: replica threads included
  await run(w.steps);
  const used = process.cpuUsage(cpu);
  const images = w.steps * w.batchSize;
  return { wall: images / ((performance.now() - start) / 1000), cpu: images / ((used.user + used.system) / 1e6) };
}

async function oursOnce(pool: ReplicaPool, w: Workload): Promise<Speeds> {
  const params = initialParameters(w.specs, 0).map((t) => t.data);
  const adam = new Adam(params, { learningRate: 1e-3 });
  const pixels = w.size * w.size * 3;
  const count = w.images.length / pixels;
  const perImage = w.targets.length / count;
  const perRound = Math.floor(count / w.batchSize);
  const batch = (k: number): [Batch, Float32Array] => {
    const i = (k % perRound) * w.batchSize;
    const j = i + w.batchSize;
    return [{ images: w.images.subarray(i * pixels, j * pixels), count: w.batchSize, size: w.size }, w.targets.subarray(i * perImage, j * perImage)];
  };
  const train = await imagesPerSecond(w, async (steps) => {
    for (let k = 0; k < steps; k++) {
      const [b, targets] = batch(k);
      const { grads } = await pool.gradients(params, b, targets);
      for (const g of grads) for (let i = 0; i < g.length; i++) g[i]! /= b.count;
      adam.step(params, grads);
    }
  });
  // Inference as the models run it (predict.ts): one run over the batches, parameters sent once, the next batch queued.
  const infer = await imagesPerSecond(w, async (steps) => {
    const batches = function* () { for (let k = 0; k < steps; k++) yield batch(k)[0]; };
    for await (const outputs of pool.predictAll(params, batches())) w.finish?.(outputs);
  });
  return { train, infer };
}

function torchOnce(dir: string, w: Workload, threads: number): Speeds {
  const run = spawnSync('/usr/bin/python3', [w.torch.script, dir, ...w.torch.args.map(String), String(threads)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`PyTorch run failed: ${run.stderr}`);
  const out = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<'train_img_s' | 'infer_img_s' | 'train_img_cpu_s' | 'infer_img_cpu_s', number>;
  return { train: { wall: out.train_img_s, cpu: out.train_img_cpu_s }, infer: { wall: out.infer_img_s, cpu: out.infer_img_cpu_s } };
}

/** Runs `rounds` alternating rounds and prints each and a summary (median ratio ours ÷ PyTorch). */
export async function compareWithPyTorch(w: Workload, rounds: number, threads: number): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), `bench-${w.name}-`));
  await writeFile(path.join(dir, 'images.f32'), new Uint8Array(w.images.buffer, w.images.byteOffset, w.images.byteLength));
  await writeFile(path.join(dir, 'targets.f32'), new Uint8Array(w.targets.buffer, w.targets.byteOffset, w.targets.byteLength));
  const pool = await ReplicaPool.start({ networkModule: w.networkModule, arch: w.arch, threads });
  console.log(`${w.name} ${JSON.stringify(w.arch)}, batch ${w.batchSize}, ${w.steps} steps per measurement; backend ${pool.backend}, ` +
    `${pool.size} replica thread(s) vs PyTorch on as many threads; load average ${loadavg()[0]!.toFixed(1)}`);
  const rows: { torch: Speeds; ours: Speeds }[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const torch = torchOnce(dir, w, pool.size);
      const ours = await oursOnce(pool, w);
      rows.push({ torch, ours });
      const both = (kind: keyof Speeds) => (['wall', 'cpu'] as const)
        .map((m) => `${ours[kind][m].toFixed(0)} vs ${torch[kind][m].toFixed(0)} ${UNIT[m]} (×${(ours[kind][m] / torch[kind][m]).toFixed(2)})`).join(', ');
      console.log(`  round ${r + 1}: train ${both('train')}; inference ${both('infer')}; load ${loadavg()[0]!.toFixed(1)}`);
    }
  } finally {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  }
  for (const kind of ['train', 'infer'] as const) {
    for (const m of ['wall', 'cpu'] as const) {
      const ratios = rows.map((row) => row.ours[kind][m] / row.torch[kind][m]);
      console.log(`  ${kind}: ours ${spread(rows.map((row) => row.ours[kind][m]))} ${UNIT[m]}, PyTorch ${spread(rows.map((row) => row.torch[kind][m]))} ${UNIT[m]}, ` +
        `ratio median ×${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`);
    }
  }
}

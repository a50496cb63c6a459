/**
 * The harness of the built-in models' benchmarks: training and inference
 * images/s of a network on this machine's TensorFlow.js backend
 * (data-parallel replicas, one per core by default) against the same network
 * in PyTorch on the CPU with as many threads, on the same images, targets
 * and batch size. Rounds alternate between the two so load from other
 * processes hits both alike; ratios are per round. Besides images per
 * wall-clock second, each side reports images per CPU-second of its own
 * process (all threads): on a shared machine that moves far less with the
 * load, though a spinning thread pool counts its waiting as CPU time.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import seedrandom from 'seedrandom';
import { Adam } from '../../models/builtin/adam.js';
import { initialParameters, type Arch, type ParamSpec } from '../../models/builtin/network.js';
import { ReplicaPool } from '../../models/builtin/replica-pool.js';
import type { Batch } from '../../models/builtin/replica-protocol.js';

/** Images per data set; batches cycle through them. */
export const IMAGES = 256;

export interface BenchArgs {
  rounds: number;
  steps: number;
  size: number;
  width: number;
  depth: number;
  batch: number;
  threads: number;
}

/** --rounds --steps --size --width --depth --batch --threads, over the given defaults. */
export function benchArgs(defaults: BenchArgs): BenchArgs {
  const options = Object.fromEntries(Object.entries(defaults).map(([key, value]) => [key, { type: 'string' as const, default: String(value) }]));
  const { values } = parseArgs({ options });
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Number(value)])) as unknown as BenchArgs;
}

/** Random pixels: content does not change the speed, only the shapes do. */
export function randomImages(size: number): Float32Array {
  const random = seedrandom('bench');
  return Float32Array.from({ length: IMAGES * size * size * 3 }, () => random());
}

export interface BenchSpec {
  /** What is measured, for the header line. */
  label: string;
  networkModule: URL;
  arch: Arch;
  specs: ParamSpec[];
  args: BenchArgs;
  images: Float32Array;
  /** IMAGES × (floats per image) targets, as the network's loss takes them. */
  targets: Float32Array;
  /** Files (name → contents) the PyTorch script reads from its data folder. */
  files: Record<string, ArrayBufferView>;
  torchScript: string;
  /** The script's arguments after the data folder, for a thread count. */
  torchArgs: (threads: number) => (string | number)[];
  /** What the model does with the network's outputs before they are predictions (e.g. a softmax), timed with inference. */
  finish?: (outputs: Float32Array) => void;
}

/** Images per wall-clock second and per CPU-second. */
type Rate = { wall: number; cpu: number };
type Speeds = { train: Rate; infer: Rate };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;

async function timeSteps({ steps, batch }: BenchArgs, step: (k: number) => Promise<void>): Promise<Rate> {
  for (let k = 0; k < 3; k++) await step(k); // warm-up: kernels set up, XNNPACK operators created
  const start = performance.now();
  const cpu = process.cpuUsage(); // this process, worker threads included
  for (let k = 0; k < steps; k++) await step(k);
  const used = process.cpuUsage(cpu);
  return { wall: (steps * batch) / ((performance.now() - start) / 1000), cpu: (steps * batch) / ((used.user + used.system) / 1e6) };
}

async function oursOnce(pool: ReplicaPool, spec: BenchSpec): Promise<Speeds> {
  const { args, images, targets } = spec;
  const params = initialParameters(spec.specs, 0).map((t) => t.data);
  const adam = new Adam(params, { learningRate: 1e-3 });
  const pixels = args.size * args.size * 3;
  const perTarget = targets.length / IMAGES;
  const perRound = Math.floor(IMAGES / args.batch);
  const batch = (k: number): [Batch, Float32Array] => {
    const i = (k % perRound) * args.batch;
    return [
      { images: images.subarray(i * pixels, (i + args.batch) * pixels), count: args.batch, size: args.size },
      targets.subarray(i * perTarget, (i + args.batch) * perTarget),
    ];
  };
  const train = await timeSteps(args, async (k) => {
    const [b, t] = batch(k);
    const { grads } = await pool.gradients(params, b, t);
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i]! /= b.count;
    adam.step(params, grads);
  });
  const infer = await timeSteps(args, async (k) => { spec.finish?.(await pool.predict(params, batch(k)[0])); });
  return { train, infer };
}

function torchOnce(spec: BenchSpec, dir: string, threads: number): Speeds {
  const run = spawnSync('/usr/bin/python3', [spec.torchScript, dir, ...spec.torchArgs(threads).map(String)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`PyTorch run failed: ${run.stderr}`);
  const out = JSON.parse(run.stdout.trim().split('\n').pop()!) as Record<'train_img_s' | 'infer_img_s' | 'train_img_cpu_s' | 'infer_img_cpu_s', number>;
  return { train: { wall: out.train_img_s, cpu: out.train_img_cpu_s }, infer: { wall: out.infer_img_s, cpu: out.infer_img_cpu_s } };
}

/** Runs the rounds, printing each and then the medians of ours ÷ PyTorch. */
export async function benchAgainstPytorch(spec: BenchSpec): Promise<void> {
  const { args } = spec;
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-model-'));
  for (const [name, contents] of Object.entries(spec.files)) {
    await writeFile(path.join(dir, name), new Uint8Array(contents.buffer, contents.byteOffset, contents.byteLength));
  }
  const pool = await ReplicaPool.start({ networkModule: spec.networkModule, arch: spec.arch, threads: args.threads });
  console.log(`${spec.label} ${JSON.stringify(spec.arch)}, batch ${args.batch}, ${args.steps} steps per measurement; backend ${pool.backend}, ` +
    `${pool.size} replica thread(s) vs PyTorch on as many threads; load average ${loadavg()[0]!.toFixed(1)}`);
  const rows: { torch: Speeds; ours: Speeds }[] = [];
  try {
    for (let r = 0; r < args.rounds; r++) {
      const torch = torchOnce(spec, dir, pool.size);
      const ours = await oursOnce(pool, spec);
      rows.push({ torch, ours });
      const line = (kind: keyof Speeds) => (['wall', 'cpu'] as const)
        .map((m) => `${ours[kind][m].toFixed(0)} vs ${torch[kind][m].toFixed(0)} img/${m === 'wall' ? 's' : 'CPU-s'} (×${(ours[kind][m] / torch[kind][m]).toFixed(2)})`).join(', ');
      console.log(`round ${r + 1}: train ${line('train')}; inference ${line('infer')}; load average ${loadavg()[0]!.toFixed(1)}`);
    }
  } finally {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  }
  for (const kind of ['train', 'infer'] as const) {
    for (const m of ['wall', 'cpu'] as const) {
      const ratios = rows.map((row) => row.ours[kind][m] / row.torch[kind][m]);
      console.log(`${kind}, img/${m === 'wall' ? 's' : 'CPU-s'}: ours ${spread(rows.map((row) => row.ours[kind][m]))}, PyTorch ${spread(rows.map((row) => row.torch[kind][m]))}, ` +
        `ratio median ×${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`);
    }
  }
}

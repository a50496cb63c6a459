/**
 * Inference images/s of an imported ONNX model in the worker's code path
 * (models/onnx: the state packed with its manifest, loadState → toInput →
 * ONNX Runtime on the CPU provider) against the same network in PyTorch on
 * the CPU (its twin, bench/models/onnx_torch.py, which exports the graph),
 * with as many threads, on the same images and batch size. Needs Debian's
 * python3-torch and python3-onnx (`apt-get install python3-torch python3-onnx`).
 * Rounds alternate between the two so load from other processes hits both
 * alike; ratios are per round. Ours includes turning RGB bytes into the
 * normalized float input (the worker does it); PyTorch gets that input ready.
 *
 *   node --import tsx bench/models/onnx-vs-pytorch.ts [--rounds 5] [--steps 40] [--size 224] [--batch 8] [--threads 2]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import seedrandom from 'seedrandom';
import { parseManifest } from '../../models/onnx/manifest.js';
import { loadState } from '../../models/onnx/onnx-model.js';
import { toInput } from '../../models/onnx/preprocess.js';
import { concat, decodeOnnxState, packOnnxState } from '../../models/onnx/state-format.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    steps: { type: 'string', default: '40' },
    size: { type: 'string', default: '224' },
    batch: { type: 'string', default: '8' },
    threads: { type: 'string', default: '2' },
  },
});
const [rounds, steps, size, batch, threads] = [args.rounds, args.steps, args.size, args.batch, args.threads].map(Number) as [number, number, number, number, number];
const CLASSES = 10;
const IMAGES = 64;
const SCRIPT = fileURLToPath(new URL('./onnx_torch.py', import.meta.url));
const manifest = {
  task: 'classifier', input: { name: 'images', size, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  output: { name: 'logits', decoding: 'logits' }, classes: Array.from({ length: CLASSES }, (_, k) => `class ${k}`),
} as const;

function python(...a: (string | number)[]): string {
  const run = spawnSync('/usr/bin/python3', [SCRIPT, ...a.map(String)], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`onnx_torch.py ${a[0]} failed (${run.status}): ${run.stderr.slice(-2000)}`);
  return run.stdout.trim().split('\n').at(-1)!;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const spread = (xs: number[], digits = 0) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

const dir = await mkdtemp(path.join(tmpdir(), 'aide-onnx-bench-'));
try {
  // The same images for both: RGB bytes for ours, normalized NCHW floats (the worker's own conversion) for PyTorch.
  const random = seedrandom('bench');
  const rgb = Array.from({ length: IMAGES }, () => Uint8Array.from({ length: size * size * 3 }, () => Math.floor(random() * 256)));
  const input = toInput(parseManifest(manifest), rgb);
  await writeFile(path.join(dir, 'images.f32'), new Uint8Array(input.buffer));
  python('export', dir, size, CLASSES);

  const state = decodeOnnxState(concat(packOnnxState(await readFile(path.join(dir, 'model.onnx')), manifest)));
  const model = await loadState(state, { provider: 'cpu', threads, batchSize: batch });
  // The twin's outputs for the first batch against ONNX Runtime's through the worker path.
  const theirs = new Float32Array((await readFile(path.join(dir, 'logits.f32'))).buffer.slice(0));
  const ours = (await model.run(rgb.slice(0, 8))).flatMap((o) => Array.from(o));
  const maxDiff = Math.max(...ours.map((v, i) => Math.abs(v - theirs[i]!)));
  console.log(`${model.runtime}; PyTorch twin exported to ONNX; max |logit difference| over 8 images ${maxDiff.toExponential(2)}`);
  if (!(maxDiff < 1e-3)) throw new Error(`ONNX Runtime and PyTorch disagree by ${maxDiff}`);

  const oursOnce = async () => {
    await model.run(rgb.slice(0, 2 * batch)); // warm-up
    const start = performance.now();
    const cpu = process.cpuUsage();
    for (let k = 0; k < steps; k++) {
      const i = (k * batch) % (IMAGES - batch + 1);
      await model.run(rgb.slice(i, i + batch));
    }
    const used = process.cpuUsage(cpu);
    const n = steps * batch;
    return { wall: n / ((performance.now() - start) / 1000), cpu: n / ((used.user + used.system) / 1e6) };
  };

  const rows: { ours: { wall: number; cpu: number }; torch: { wall: number; cpu: number }; load: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    const o = await oursOnce();
    const t = JSON.parse(python('time', dir, size, CLASSES, batch, steps, threads)) as { infer_img_s: number; infer_img_cpu_s: number };
    rows.push({ ours: o, torch: { wall: t.infer_img_s, cpu: t.infer_img_cpu_s }, load: loadavg()[0]! });
    console.log(`round ${r + 1}: ours ${o.wall.toFixed(1)} img/s (${o.cpu.toFixed(1)} per CPU-s), PyTorch ${t.infer_img_s.toFixed(1)} img/s (${t.infer_img_cpu_s.toFixed(1)} per CPU-s), ratio ×${(o.wall / t.infer_img_s).toFixed(2)}, load ${loadavg()[0]!.toFixed(1)}`);
  }
  const ratios = rows.map((x) => x.ours.wall / x.torch.wall);
  const cpuRatios = rows.map((x) => x.ours.cpu / x.torch.cpu);
  console.log('');
  console.log(`| ${size}×${size}, batch ${batch}, ${threads} threads, ${rounds} rounds × ${steps} batches | img/s ours (ONNX Runtime, worker path) | img/s PyTorch | ratio (median, range) | per CPU-s ratio |`);
  console.log('|---|---:|---:|---:|---:|');
  console.log(`| inference | ${spread(rows.map((x) => x.ours.wall), 1)} | ${spread(rows.map((x) => x.torch.wall), 1)} | ×${median(ratios).toFixed(2)} (${spread(ratios, 2)}) | ×${median(cpuRatios).toFixed(2)} |`);
  console.log(`figure onnx_infer_vs_pytorch ${median(ratios).toFixed(3)}`);
  model.release();
} finally {
  await rm(dir, { recursive: true, force: true });
}

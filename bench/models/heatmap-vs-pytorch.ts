/**
 * Training and inference images/s of the detector's and the point model's
 * network (models/builtin/heatmap/network.ts, each at its default shape)
 * against the same networks and loss in PyTorch on the CPU, both in one run
 * (harness: vs-pytorch.ts).
 *
 *   node --import tsx bench/models/heatmap-vs-pytorch.ts [--rounds 3] [--steps 40]
 *        [--size 64] [--width 16] [--classes 4] [--batch 8] [--threads 0] [--only boxes|points]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import seedrandom from 'seedrandom';
import { IDENTITY } from '../../models/builtin/augment.js';
import { HEATMAP_NETWORK, heatmapSpecs, regressionChannels, type HeatmapArch } from '../../models/builtin/heatmap/network.js';
import { heatmapTargets } from '../../models/builtin/heatmap/targets.js';
import { compareWithPyTorch } from './vs-pytorch.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '40' },
    size: { type: 'string', default: '64' },
    width: { type: 'string', default: '16' },
    classes: { type: 'string', default: '4' },
    batch: { type: 'string', default: '8' },
    threads: { type: 'string', default: '0' },
    only: { type: 'string' },
  },
});
const [rounds, steps, size, width, classes, batchSize, threads] =
  [args.rounds, args.steps, args.size, args.width, args.classes, args.batch, args.threads].map(Number) as number[];
const IMAGES = 128;
/** Default depths: stride 8 for boxes, 4 for points (detector/settings.ts, points/settings.ts). */
const DEPTH = { boxes: 3, points: 2 } as const;

for (const kind of (['boxes', 'points'] as const).filter((k) => !args.only || args.only === k)) {
  const arch: HeatmapArch = { inputSize: size!, width: width!, depth: DEPTH[kind], classes: classes!, kind };
  // Random pixels, three random objects per image: content does not change the speed, only the shapes do.
  const random = seedrandom(`bench-${kind}`);
  const images = Float32Array.from({ length: IMAGES * size! * size! * 3 }, () => random());
  const encoder = heatmapTargets(arch);
  const targets = new Float32Array(IMAGES * encoder.length);
  for (let i = 0; i < IMAGES; i++) {
    const objects = Array.from({ length: 3 }, () => ({ x: random(), y: random(), width: 0.1 + random() * 0.2, height: 0.1 + random() * 0.2, classIndex: Math.floor(random() * classes!) }));
    encoder.write(kind === 'boxes' ? objects : objects.map(({ x, y, classIndex }) => ({ x, y, classIndex })), IDENTITY, targets, i * encoder.length);
  }
  await compareWithPyTorch({
    name: kind === 'boxes' ? 'detector' : 'points', networkModule: HEATMAP_NETWORK, arch, specs: heatmapSpecs(arch), size: size!, images, targets,
    batchSize: batchSize!, steps: steps!,
    torch: { script: fileURLToPath(new URL('./heatmap_torch.py', import.meta.url)), args: [size!, width!, arch.depth, classes!, regressionChannels(arch), batchSize!, steps!] },
  }, rounds!, threads!);
}

/**
 * Training and inference images/s of the built-in segmentation U-Net against
 * the same network and loss in PyTorch on the CPU (harness: vs-pytorch.ts).
 * Targets: a random class per pixel, a quarter of the pixels unlabelled
 * (ignored), as under ignoreUnlabeled. Inference includes the softmax, which
 * the model takes in JS (segmentation/softmax.ts).
 *
 *   node --import tsx bench/models/segmentation-vs-pytorch.ts [--rounds 3] [--steps 30]
 *        [--size 64] [--width 8] [--depth 2] [--classes 4] [--batch 8] [--threads 0]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import seedrandom from 'seedrandom';
import { SEGMENTATION_NETWORK, segmentationSpecs, type SegmentationArch } from '../../models/builtin/segmentation/network.js';
import { softmaxRows } from '../../models/builtin/segmentation/softmax.js';
import { compareWithPyTorch } from './vs-pytorch.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '30' },
    size: { type: 'string', default: '64' },
    width: { type: 'string', default: '8' },
    depth: { type: 'string', default: '2' },
    classes: { type: 'string', default: '4' },
    batch: { type: 'string', default: '8' },
    threads: { type: 'string', default: '0' },
  },
});
const [rounds, steps, size, width, depth, classes, batchSize, threads] =
  [args.rounds, args.steps, args.size, args.width, args.depth, args.classes, args.batch, args.threads].map(Number) as number[];
const arch: SegmentationArch = { inputSize: size!, width: width!, depth: depth!, classes: classes! };
const IMAGES = 128;

// Random pixels and classes: content does not change the speed, only the shapes do.
const random = seedrandom('bench');
const images = Float32Array.from({ length: IMAGES * size! * size! * 3 }, () => random());
const targets = Float32Array.from({ length: IMAGES * size! * size! }, () => (random() < 0.25 ? -1 : Math.floor(random() * classes!)));

await compareWithPyTorch({
  name: 'segmentation', networkModule: SEGMENTATION_NETWORK, arch, specs: segmentationSpecs(arch), size: size!, images, targets,
  batchSize: batchSize!, steps: steps!, finish: (logits) => softmaxRows(logits, classes!),
  torch: { script: fileURLToPath(new URL('./segmentation_torch.py', import.meta.url)), args: [size!, width!, depth!, classes!, batchSize!, steps!] },
}, rounds!, threads!);

/**
 * Training and inference images/s of the built-in segmentation U-Net against
 * the same network in PyTorch (segmentation_torch.py), both in one run
 * (harness: vs-pytorch.ts). Targets: random classes per pixel, a quarter of
 * the pixels unlabelled (ignored), as with ignoreUnlabeled. Inference is the
 * network's logits on both sides (the model's softmax over them is not timed).
 *
 *   node --import tsx bench/models/segmentation-vs-pytorch.ts [--rounds 3] [--steps 30]
 *        [--size 64] [--width 8] [--depth 2] [--batch 8] [--threads 0]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import seedrandom from 'seedrandom';
import { SEGMENTATION_NETWORK, segmentationSpecs, type SegmentationArch } from '../../models/builtin/segmentation/network.js';
import { compareWithPyTorch } from './vs-pytorch.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '30' },
    size: { type: 'string', default: '64' },
    width: { type: 'string', default: '8' },
    depth: { type: 'string', default: '2' },
    batch: { type: 'string', default: '8' },
    threads: { type: 'string', default: '0' },
  },
});
const [rounds, steps, size, width, depth, batchSize, threads] =
  [args.rounds, args.steps, args.size, args.width, args.depth, args.batch, args.threads].map(Number) as number[];
const IMAGES = 128;
const arch: SegmentationArch = { inputSize: size!, width: width!, depth: depth!, classes: 4 };
const random = seedrandom('bench targets');
const images = Float32Array.from({ length: IMAGES * size! * size! * 3 }, () => random());
// Both networks take the class per pixel, −1 where it is ignored.
const targets = Float32Array.from({ length: IMAGES * size! * size! }, () => (random() < 0.25 ? -1 : Math.floor(random() * arch.classes)));

await compareWithPyTorch({
  name: 'segmentation U-Net', networkModule: SEGMENTATION_NETWORK, arch, specs: segmentationSpecs(arch), size: size!, images, targets,
  batchSize: batchSize!, steps: steps!,
  torch: { script: fileURLToPath(new URL('./segmentation_torch.py', import.meta.url)), args: [size!, width!, depth!, arch.classes, batchSize!, steps!] },
}, rounds!, threads!);

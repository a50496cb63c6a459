/**
 * Training and inference images/s of the built-in segmentation U-Net against
 * the same network in PyTorch (segmentation_torch.py); see vs-pytorch.ts for
 * how it is measured. Targets: random classes per pixel, a quarter of the
 * pixels unlabelled (ignored), as with ignoreUnlabeled.
 *
 *   node --import tsx bench/models/segmentation-vs-pytorch.ts [--rounds 3] [--steps 30]
 *        [--size 64] [--width 8] [--depth 2] [--batch 8] [--threads 0]
 */
import { fileURLToPath } from 'node:url';
import seedrandom from 'seedrandom';
import { SEGMENTATION_NETWORK, segmentationSpecs, type SegmentationArch } from '../../models/builtin/segmentation/network.js';
import { softmaxRows } from '../../models/builtin/segmentation/softmax.js';
import { benchAgainstPytorch, benchArgs, IMAGES, randomImages } from './vs-pytorch.js';

const args = benchArgs({ rounds: 3, steps: 30, size: 64, width: 8, depth: 2, batch: 8, threads: 0 });
const arch: SegmentationArch = { inputSize: args.size, width: args.width, depth: args.depth, classes: 4 };
const random = seedrandom('bench targets');
// Both networks take the class per pixel, −1 where it is ignored.
const targets = Float32Array.from({ length: IMAGES * args.size * args.size }, () => (random() < 0.25 ? -1 : Math.floor(random() * arch.classes)));
const images = randomImages(args.size);

await benchAgainstPytorch({
  label: 'segmentation U-Net',
  networkModule: SEGMENTATION_NETWORK,
  arch,
  specs: segmentationSpecs(arch),
  args,
  images,
  targets,
  files: { 'images.f32': images, 'targets.f32': targets },
  torchScript: fileURLToPath(new URL('./segmentation_torch.py', import.meta.url)),
  torchArgs: (threads) => [args.size, args.width, args.depth, arch.classes, args.batch, args.steps, threads],
  finish: (logits) => softmaxRows(logits, arch.classes),
});

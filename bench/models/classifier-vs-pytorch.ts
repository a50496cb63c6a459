/**
 * Training and inference images/s of the built-in classifier's network
 * against the same network in PyTorch (classifier_torch.py); see
 * vs-pytorch.ts for how it is measured.
 *
 *   node --import tsx bench/models/classifier-vs-pytorch.ts [--rounds 3] [--steps 60]
 *        [--size 64] [--width 16] [--depth 2] [--batch 16] [--threads 0]
 */
import { fileURLToPath } from 'node:url';
import { CLASSIFIER_NETWORK, classifierSpecs, type ClassifierArch } from '../../models/builtin/classifier/network.js';
import { benchAgainstPytorch, benchArgs, IMAGES, randomImages } from './vs-pytorch.js';

const args = benchArgs({ rounds: 3, steps: 60, size: 64, width: 16, depth: 2, batch: 16, threads: 0 });
const arch: ClassifierArch = { inputSize: args.size, width: args.width, depth: args.depth, classes: 4 };
const labels = Int32Array.from({ length: IMAGES }, (_, i) => i % arch.classes);
// Our network takes one-hot targets (Network.targetShape = [classes]); PyTorch the class indices.
const targets = new Float32Array(IMAGES * arch.classes);
labels.forEach((label, i) => { targets[i * arch.classes + label] = 1; });
const images = randomImages(args.size);

await benchAgainstPytorch({
  label: 'classifier',
  networkModule: CLASSIFIER_NETWORK,
  arch,
  specs: classifierSpecs(arch),
  args,
  images,
  targets,
  files: { 'images.f32': images, 'labels.i32': labels },
  torchScript: fileURLToPath(new URL('./classifier_torch.py', import.meta.url)),
  torchArgs: (threads) => [args.size, args.width, args.depth, arch.classes, args.batch, args.steps, threads],
});

/**
 * Training and inference images/s of the built-in classifier's network
 * against the same network in PyTorch on the CPU (harness: vs-pytorch.ts).
 *
 *   node --import tsx bench/models/classifier-vs-pytorch.ts [--rounds 3] [--steps 60]
 *        [--size 64] [--width 16] [--depth 2] [--head pool|flatten] [--batch 16] [--threads 0]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import seedrandom from 'seedrandom';
import { CLASSIFIER_HEADS, CLASSIFIER_NETWORK, classifierSpecs, type ClassifierArch, type ClassifierHead } from '../../models/builtin/classifier/network.js';
import { compareWithPyTorch } from './vs-pytorch.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    steps: { type: 'string', default: '60' },
    size: { type: 'string', default: '64' },
    width: { type: 'string', default: '16' },
    depth: { type: 'string', default: '2' },
    head: { type: 'string', default: 'pool' },
    batch: { type: 'string', default: '16' },
    threads: { type: 'string', default: '0' },
  },
});
const [rounds, steps, size, width, depth, batchSize, threads] =
  [args.rounds, args.steps, args.size, args.width, args.depth, args.batch, args.threads].map(Number) as number[];
const head = args.head as ClassifierHead;
if (!CLASSIFIER_HEADS.includes(head)) throw new Error(`--head must be one of ${CLASSIFIER_HEADS.join(', ')}`);
const arch: ClassifierArch = { inputSize: size!, width: width!, depth: depth!, classes: 4, head };
const IMAGES = 256;

/** Random images with one-hot targets: content does not change the speed, only the shapes do. */
const random = seedrandom('bench');
const images = Float32Array.from({ length: IMAGES * size! * size! * 3 }, () => random());
const targets = new Float32Array(IMAGES * arch.classes);
for (let i = 0; i < IMAGES; i++) targets[i * arch.classes + (i % arch.classes)] = 1;

await compareWithPyTorch({
  name: 'classifier', networkModule: CLASSIFIER_NETWORK, arch, specs: classifierSpecs(arch), size: size!, images, targets,
  batchSize: batchSize!, steps: steps!,
  torch: { script: fileURLToPath(new URL('./classifier_torch.py', import.meta.url)), args: [size!, width!, depth!, head, arch.classes, batchSize!, steps!] },
}, rounds!, threads!);

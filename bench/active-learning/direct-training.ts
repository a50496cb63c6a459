/**
 * The classifier trained directly (no mesh) on random Fashion-MNIST labels,
 * variants of its options side by side in the same run: test accuracy per
 * label budget and label draw, to tell a better default from noise before a
 * full active-learning protocol run (protocol.ts) spends hours on it.
 *
 * Per seed s: `labels` images drawn from the protocol's pool of seed 0 (the
 * draw seeded by s), `builtin.labels` at the protocol's 28×28, width 32,
 * depth 2, 15 epochs and training seed s, plus the variant's options; test
 * accuracy on the protocol's 2,000 test images.
 *
 *   node --import tsx bench/active-learning/direct-training.ts --labels 1000,2000 --seeds 1,2,3,4 \
 *     --base network.head=flatten,augmentation.flip=false,augmentation.crop=0,augmentation.colourJitter=0 \
 *     --variant constant:training.schedule=constant --variant cosine:training.schedule=cosine
 *
 * Prints a line per run, a table (mean ± sd, range) and `figure direct_<variant>_<labels> <mean>` lines.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import seedrandom from 'seedrandom';
import sharp from 'sharp';
import type { LabelAnnotation, TrainingData } from '../../libs/plugin/data.js';
import { LocalFileSource } from '../../libs/plugin/local-file-source.js';
import { probeContext } from '../../libs/plugin/probe.js';
import { LabelsClassifier } from '../../models/builtin/classifier/model.js';
import { optionsWith } from '../../test/support/builtin-models.js';
import { CLASSES, protocolData, sampleIndices, SIDE, type GreySet } from './fashion-mnist.js';
import { optionChanges } from './label-options.js';

const { values: args } = parseArgs({
  options: {
    labels: { type: 'string', default: '1000,2000' },
    seeds: { type: 'string', default: '1,2,3,4' },
    epochs: { type: 'string', default: '15' },
    base: { type: 'string', default: '' },
    variant: { type: 'string', multiple: true, default: ['defaults:'] },
  },
});
const budgets = args.labels.split(',').map(Number);
const seeds = args.seeds.split(',').map(Number);
const PROJECT = 'fashion';

/** "group.key=value,…" as optionsWith changes. */
const changes = (text: string) => optionChanges(text.split(',').filter(Boolean));
const base = changes(args.base);
const variants = args.variant.map((v) => {
  const at = v.indexOf(':');
  return { name: at < 0 ? v : v.slice(0, at), changes: changes(at < 0 ? '' : v.slice(at + 1)) };
});

const root = mkdtempSync(join(tmpdir(), 'aide-direct-'));
async function writeSet(split: string, set: GreySet): Promise<void> {
  mkdirSync(join(root, PROJECT, split), { recursive: true });
  for (let i = 0; i < set.images.length; i += 64) {
    await Promise.all(set.images.slice(i, i + 64).map((image, k) =>
      sharp(Buffer.from(image), { raw: { width: SIDE, height: SIDE, channels: 1 } }).png().toFile(join(root, PROJECT, split, `${i + k}.png`))));
  }
}

const { pool, test } = protocolData(0, 10_000, 2_000);
const labelClasses = Object.fromEntries(CLASSES.map((name, index) => [`c${index}`, { name, color: null, index }]));
const testData = { labelClasses, images: Object.fromEntries(test.images.map((_, i) => [`t${i}`, { filename: `test/${i}.png` }])) };

async function accuracy(labels: number, seed: number, variant: Record<string, unknown>): Promise<number> {
  const picked = sampleIndices(pool.images.length, labels, seedrandom(`direct:${seed}`));
  const train: TrainingData<LabelAnnotation> = {
    labelClasses,
    images: Object.fromEntries(picked.map((i) => [`p${i}`, { filename: `pool/${i}.png`, annotations: [{ id: `a${i}`, label: `c${pool.labels[i]}`, unsure: false }] }])),
  };
  const options = optionsWith(LabelsClassifier.getDefaultOptions(), {
    'network.inputSize': SIDE, 'network.width': 32, 'network.depth': 2, 'training.epochs': Number(args.epochs), 'training.seed': seed, ...base, ...variant,
  });
  const model = () => new LabelsClassifier({ ...probeContext(options), fileServer: new LocalFileSource(root, PROJECT) });
  const quiet = () => {};
  const trained = await model().train(null, train, quiet);
  const state = trained instanceof Uint8Array ? trained : trained.state;
  const predictions = await model().inference(state, testData, quiet) as Record<string, { predictions: { label?: string }[] }>;
  return test.labels.filter((label, i) => predictions[`t${i}`]?.predictions[0]?.label === `c${label}`).length / test.labels.length;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));

try {
  await writeSet('pool', pool);
  await writeSet('test', test);
  const results = new Map<string, number[]>();
  for (const labels of budgets) {
    for (const seed of seeds) {
      // Variants alternate within a seed, so a change of the machine's load touches them alike.
      for (const v of variants) {
        const t0 = performance.now();
        const acc = await accuracy(labels, seed, v.changes);
        console.log(`${v.name} labels ${labels} seed ${seed}: accuracy ${acc.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
        const key = `${v.name}\t${labels}`;
        results.set(key, [...(results.get(key) ?? []), acc]);
      }
    }
  }
  console.log(`\n| labels | ${variants.map((v) => v.name).join(' | ')} |`);
  console.log(`|---:|${variants.map(() => '---:').join('|')}|`);
  for (const labels of budgets) {
    const cells = variants.map((v) => {
      const xs = results.get(`${v.name}\t${labels}`)!;
      return `${mean(xs).toFixed(4)} ± ${sd(xs).toFixed(4)} (${Math.min(...xs).toFixed(4)}–${Math.max(...xs).toFixed(4)}, n = ${xs.length})`;
    });
    console.log(`| ${labels} | ${cells.join(' | ')} |`);
  }
  for (const labels of budgets) for (const v of variants) console.log(`figure direct_${v.name}_${labels} ${mean(results.get(`${v.name}\t${labels}`)!).toFixed(4)}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}

/**
 * The classifier's options: the common network, training, augmentation and
 * runtime fields (model-settings.ts) with defaults sized for 2 CPU cores (a
 * few hundred images train in well under a minute), and the head.
 *
 * The defaults (global-pool head, flips, 10 % crops and jitter) suit objects
 * anywhere in the image, as in aerial tiles. Where position is evidence
 * (centred, aligned images such as Fashion-MNIST) the flatten head without
 * augmentation learns far faster from few labels — 200 labels, 15 epochs:
 * 0.79 test accuracy against 0.67 with the defaults — but on shapes at random
 * positions it reaches only 0.67 (0.83 with augmentation, 'both' 0.79)
 * held-out accuracy where the defaults reach ≥ 0.85 (bench/RESULTS.md,
 * "Active learning"). No single default won both in this session.
 * `augmentation.shift` (a translation at full scale, default 0) helps the
 * flatten head there: 0.1 of a side lifted Fashion-MNIST from 0.834 to 0.844
 * at 800 labels and 0.857 to 0.863 at 2,000 (3 label draws; RESULTS.md,
 * "Three seeds with a shift").
 *
 * The learning rate anneals (train-loop.ts): at a constant rate, runs on the
 * same labels ended anywhere from 0.776 to 0.865 test accuracy on
 * Fashion-MNIST at 2,000 labels, depending on where the last full-size steps
 * left the network; annealed, 0.851–0.864 (4 label draws; RESULTS.md,
 * "Learning-rate schedule"). The heatmap models keep a constant rate: their
 * short test runs lost 3 points of recall annealed.
 */
import type { PluginOptions } from '../../../libs/plugin/context.js';
import { MODEL_GROUPS, modelFields, resolveModelSettings, type ModelSettings, type Resolved } from '../model-settings.js';
import type { Field } from '../option-fields.js';
import type { ClassifierHead } from './network.js';

export type ClassifierSettings = ModelSettings & { head: ClassifierHead };

export const CLASSIFIER_GROUPS = MODEL_GROUPS;

export const CLASSIFIER_FIELDS: Field[] = [
  ...modelFields({ inputSize: 64, width: 16, depth: 3, maxDepth: 6, epochs: 10, batchSize: 16, learningRate: 0.003, schedule: 'anneal' }),
  {
    group: 'network', key: 'head', name: 'Head', type: 'select', value: 'pool',
    description: 'What the class outputs see of the last feature map: every position (learns faster from few labels; more weights for large inputs) or its average (blind to position).',
    choices: { flatten: 'Every position (flatten)', pool: 'Global average pooling', both: 'Both: every position and the average' },
  },
];

export const resolveSettings = (options: PluginOptions): Resolved<ClassifierSettings> =>
  resolveModelSettings<ClassifierSettings>(CLASSIFIER_GROUPS, CLASSIFIER_FIELDS, options, (values) => ({ head: values.head as ClassifierHead }));

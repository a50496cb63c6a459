/**
 * The classifier's options: the common network, training, augmentation and
 * runtime fields (model-settings.ts) with defaults sized for 2 CPU cores (a
 * few hundred images train in well under a minute), and the head.
 *
 * No augmentation by default: flips, crops and colour jitter change what an
 * image shows on some datasets (a flipped digit, a colour that is the class),
 * and in the few epochs a round trains they cost accuracy even where they are
 * harmless (Fashion-MNIST, flatten head, 15 epochs, mean of 2 seeds, lr 0.001,
 * batch 32, at 200 / 1,000 labels: none 0.787 / 0.836, flips alone 0.764 /
 * 0.824, flips + 10 % crops + 10 % jitter 0.751 / —). A project turns them on.
 */
import type { PluginOptions } from '../../../libs/plugin/context.js';
import { MODEL_GROUPS, modelFields, resolveModelSettings, type ModelSettings, type Resolved } from '../model-settings.js';
import { NO_AUGMENTATION } from '../augment.js';
import type { Field } from '../option-fields.js';
import type { ClassifierHead } from './network.js';

export type ClassifierSettings = ModelSettings & { head: ClassifierHead };

export const CLASSIFIER_GROUPS = MODEL_GROUPS;

export const CLASSIFIER_FIELDS: Field[] = [
  ...modelFields({ inputSize: 64, width: 16, depth: 3, maxDepth: 6, epochs: 10, batchSize: 16, learningRate: 0.003, augment: NO_AUGMENTATION }),
  {
    group: 'network', key: 'head', name: 'Head', type: 'select', value: 'flatten',
    description: 'What the class outputs see of the last feature map: every position (learns faster from few labels; more weights for large inputs) or its average (blind to position).',
    choices: { flatten: 'Every position (flatten)', pool: 'Global average pooling' },
  },
];

export const resolveSettings = (options: PluginOptions): Resolved<ClassifierSettings> =>
  resolveModelSettings<ClassifierSettings>(CLASSIFIER_GROUPS, CLASSIFIER_FIELDS, options, (values) => ({ head: values.head as ClassifierHead }));

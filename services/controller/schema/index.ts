import type { Migration } from '../../../libs/db/index.js';
import { initial } from './0001-initial.js';
import { trainingRoundsAndGolden } from './0002-training-rounds-golden.js';
import { stateVersionCounter } from './0003-state-version-counter.js';
import { unreadableImagesStagedPredictions } from './0004-unreadable-images-staged-predictions.js';
import { imageEmbeddings } from './0005-image-embeddings.js';
import { nextBatchPriorityOrder } from './0006-next-batch-priority-order.js';
import { stateFiles } from './0007-state-files.js';
import { inferenceImages } from './0008-inference-images.js';
import { imageForeignKeyIndexes } from './0009-image-foreign-key-indexes.js';
import { leanStaging } from './0010-lean-staging.js';

/** The controller's migrations in the order migrate() applies them; append, never edit an applied one. */
export const CONTROLLER_MIGRATIONS: readonly Migration[] = [
  initial, trainingRoundsAndGolden, stateVersionCounter, unreadableImagesStagedPredictions, imageEmbeddings, nextBatchPriorityOrder, stateFiles,
  inferenceImages, imageForeignKeyIndexes, leanStaging,
];

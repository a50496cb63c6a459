import type { Command } from 'commander';
import { ProjectSettings } from '../../libs/gen/aide/v1/common.js';
import { count, jsonText } from './parse.js';

/** The settings options `projects create` and `projects settings` share; absent ones leave a setting as it is. */
export interface SettingsOptions {
  model?: string;
  modelOptions?: string;
  ranker?: string;
  rankerOptions?: string;
  autoTrain?: boolean;
  minNewAnnotations?: number;
  trainWorkers?: number;
  epochs?: number;
  ignoreUnlabeled?: boolean;
  minAnnotationsPerImage?: number;
  maxTrainingImages?: number;
}

export function addSettingsOptions(command: Command): Command {
  return command
    .option('--model <library>', 'registry key of the prediction model (see `aide models list`)')
    .option('--model-options <json>', 'model options as JSON text, or @file', jsonText)
    .option('--ranker <library>', 'registry key of the ranker')
    .option('--ranker-options <json>', 'ranker options as JSON text, or @file', jsonText)
    .option('--auto-train', 'start train → inference → rank by itself once enough new annotations arrived')
    .option('--no-auto-train', 'only train when asked')
    .option('--min-new-annotations <n>', 'auto-train: new annotations that start a training', count)
    .option('--train-workers <n>', 'auto-train: shards trained at once', count)
    .option('--epochs <n>', 'auto-train: federated-averaging rounds per training', count)
    .option('--ignore-unlabeled', 'segmentation: unlabelled pixels are ignored, not background')
    .option('--no-ignore-unlabeled', 'segmentation: unlabelled pixels are background')
    .option('--min-annotations-per-image <n>', 'training selection: annotations an image needs', count)
    .option('--max-training-images <n>', 'training selection: at most this many images (0 = all)', count);
}

/** `base` with the given options applied. */
export function applySettings(base: ProjectSettings, o: SettingsOptions): ProjectSettings {
  const auto = base.autoTrain ?? { enabled: false, minNewAnnotations: 0, numWorkers: 1, numEpochs: 1 };
  return ProjectSettings.fromPartial({
    ...base,
    modelLibrary: o.model ?? base.modelLibrary,
    modelOptionsJson: o.modelOptions ?? base.modelOptionsJson,
    rankerLibrary: o.ranker ?? base.rankerLibrary,
    rankerOptionsJson: o.rankerOptions ?? base.rankerOptionsJson,
    autoTrain: {
      enabled: o.autoTrain ?? auto.enabled,
      minNewAnnotations: o.minNewAnnotations ?? auto.minNewAnnotations,
      numWorkers: o.trainWorkers ?? auto.numWorkers,
      numEpochs: o.epochs ?? auto.numEpochs,
    },
    ignoreUnlabeled: o.ignoreUnlabeled ?? base.ignoreUnlabeled,
    minAnnotationsPerImage: o.minAnnotationsPerImage ?? base.minAnnotationsPerImage,
    maxTrainingImages: o.maxTrainingImages ?? base.maxTrainingImages,
  });
}

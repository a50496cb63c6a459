/** Projects and their settings ⇄ aide.v1. */
import type { AutoTrainPolicy as ProtoAutoTrain, Project as ProtoProject, ProjectSettings as ProtoSettings } from '../../../libs/gen/aide/v1/common.js';
import { annotationTypeToProto } from '../../../libs/wire/plugin-info.js';
import type { Project, ProjectSettings } from '../domain.js';

const NO_AUTO_TRAIN: ProtoAutoTrain = { enabled: false, minNewAnnotations: 0, numWorkers: 0, numEpochs: 0 };

/** Proto3 leaves absent messages undefined: the domain always has a policy. */
export const settingsFromProto = (s: ProtoSettings): ProjectSettings => ({ ...s, autoTrain: { ...(s.autoTrain ?? NO_AUTO_TRAIN) } });

export const settingsToProto = (s: ProjectSettings): ProtoSettings => ({ ...s, autoTrain: { ...s.autoTrain } });

export const projectToProto = (p: Project): ProtoProject => ({
  name: p.name,
  displayName: p.displayName,
  annotationType: annotationTypeToProto(p.annotationType),
  predictionType: annotationTypeToProto(p.predictionType),
  settings: settingsToProto(p.settings),
  createdAt: p.createdAt,
});

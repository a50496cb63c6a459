import type { ModelStateInfo as ProtoStateInfo } from '../../../libs/gen/aide/v1/common.js';
import type { GoldenQuestionAccuracy, MarketplaceEntry as ProtoEntry, StoppingSignal as ProtoStoppingSignal } from '../../../libs/gen/aide/v1/controller.js';
import { annotationTypeToProto } from '../../../libs/wire/plugin-info.js';
import type { MarketplaceEntry, ModelStateInfo } from '../domain.js';
import { goldenScores } from '../golden-accuracy.js';
import type { GoldenAccuracy } from '../store/golden-results.js';
import type { StoppingSignal } from '../store/stopping-signal.js';

export const stateInfoToProto = (s: ModelStateInfo): ProtoStateInfo => ({
  id: s.id,
  project: s.project,
  modelLibrary: s.modelLibrary,
  version: s.version ?? 0,
  labelClassMap: { ...s.labelClassMap },
  stats: { ...s.stats },
  parentId: s.parentId ?? '',
  createdAt: s.createdAt,
  sizeBytes: s.sizeBytes,
  sha256: s.sha256,
  numImages: s.numImages,
  current: s.current,
});

export const entryToProto = (e: MarketplaceEntry): ProtoEntry => ({
  id: e.id,
  name: e.name,
  description: e.description,
  author: e.author,
  annotationType: annotationTypeToProto(e.annotationType),
  predictionType: annotationTypeToProto(e.predictionType),
  originProject: e.originProject,
  modelLibrary: e.modelLibrary,
  modelStateId: e.modelStateId,
  labelClassNames: { ...e.labelClassNames },
});

export const goldenAccuracyToProto = (g: GoldenAccuracy): GoldenQuestionAccuracy => ({
  modelStateId: g.stateId,
  version: g.version,
  predictionType: annotationTypeToProto(g.predictionType),
  images: g.images,
  matched: g.matched,
  predicted: g.predicted,
  annotated: g.annotated,
  ...goldenScores(g.predictionType, g),
  computedAt: g.computedAt,
});

export const stoppingSignalToProto = (s: StoppingSignal): ProtoStoppingSignal => ({
  modelStateId: s.stateId,
  version: s.version,
  previousModelStateId: s.previousStateId ?? '',
  previousVersion: s.previousVersion ?? 0,
  comparedImages: s.comparedImages,
  changedImages: s.changedImages,
  changedFraction: s.changedFraction,
  hasHeldOutAccuracy: s.heldOutAccuracy !== null,
  heldOutAccuracy: s.heldOutAccuracy ?? 0,
  heldOutAccuracyDelta: s.heldOutAccuracyDelta ?? 0,
});

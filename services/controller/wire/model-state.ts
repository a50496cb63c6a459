import type { ModelStateInfo as ProtoStateInfo } from '../../../libs/gen/aide/v1/common.js';
import type { MarketplaceEntry as ProtoEntry } from '../../../libs/gen/aide/v1/controller.js';
import { annotationTypeToProto } from '../../../libs/wire/plugin-info.js';
import type { MarketplaceEntry, ModelStateInfo } from '../domain.js';

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

import type { Image as ProtoImage, LabelClass as ProtoLabelClass } from '../../../libs/gen/aide/v1/common.js';
import type { Image, LabelClass } from '../domain.js';

export const imageToProto = (i: Image): ProtoImage => ({
  id: i.id,
  project: i.project,
  filePath: i.filePath,
  width: i.width,
  height: i.height,
  sizeBytes: i.sizeBytes,
  addedAt: i.addedAt,
  lastViewedAt: i.lastViewedAt ?? undefined,
  annotationCount: i.annotationCount,
  hasPredictions: i.hasPredictions,
  goldenQuestion: i.goldenQuestion,
  unreadableReason: i.unreadableReason,
});

export const labelClassToProto = (c: LabelClass): ProtoLabelClass => ({ ...c });

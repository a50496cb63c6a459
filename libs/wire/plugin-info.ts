/** Plugin registry metadata and annotation types ⇄ their aide.v1 forms. */
import { AnnotationType as ProtoAnnotationType } from '../gen/aide/v1/common.js';
import type { PluginInfo } from '../gen/aide/v1/ranker.js';
import type { AnnotationType } from '../plugin/data.js';
import type { PluginMetadata } from '../plugin/metadata.js';

const TO_PROTO: Record<AnnotationType, ProtoAnnotationType> = {
  labels: ProtoAnnotationType.ANNOTATION_TYPE_LABELS,
  points: ProtoAnnotationType.ANNOTATION_TYPE_POINTS,
  boundingBoxes: ProtoAnnotationType.ANNOTATION_TYPE_BOUNDING_BOXES,
  segmentationMasks: ProtoAnnotationType.ANNOTATION_TYPE_SEGMENTATION_MASKS,
};

export const annotationTypeToProto = (t: AnnotationType): ProtoAnnotationType => TO_PROTO[t];

/** undefined for UNSPECIFIED (and unknown values). */
export const annotationTypeFromProto = (t: ProtoAnnotationType): AnnotationType | undefined =>
  (Object.keys(TO_PROTO) as AnnotationType[]).find((k) => TO_PROTO[k] === t);

export function pluginInfo(meta: PluginMetadata): PluginInfo {
  return {
    key: meta.key,
    name: meta.name,
    author: meta.author,
    description: meta.description,
    annotationTypes: meta.annotationTypes.map(annotationTypeToProto),
    predictionTypes: meta.predictionTypes.map(annotationTypeToProto),
    canAddLabelClasses: meta.canAddLabelClasses,
    canRemoveLabelClasses: meta.canRemoveLabelClasses,
  };
}

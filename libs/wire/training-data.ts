/**
 * Proto ⇄ plugin edge for a job's input: the wire's JobHeader + ImageData
 * become the seed's data dict (TrainingData) a model sees, and back.
 */
import type { Annotation as WireAnnotation, LabelClass as WireLabelClass } from '../gen/aide/v1/common.js';
import type { ImageData } from '../gen/aide/v1/worker.js';
import type { Annotation, ImageEntry, InferenceData, LabelClass, TrainingData } from '../plugin/data.js';

export function toPluginAnnotation(a: WireAnnotation): Annotation {
  const base = { id: a.id || undefined, unsure: a.unsure };
  const label = a.labelClassId || undefined;
  switch (a.geometry?.$case) {
    case 'point':
      return { ...base, label, x: a.geometry.value.x, y: a.geometry.value.y };
    case 'boundingBox': {
      const { x, y, width, height } = a.geometry.value;
      return { ...base, label, x, y, width, height };
    }
    case 'mask': {
      const m = a.geometry.value;
      return { ...base, segmentationMask: Buffer.from(m.data).toString('base64'), width: m.width, height: m.height };
    }
    default:
      return { ...base, label };
  }
}

export function toPluginLabelClasses(classes: readonly WireLabelClass[]): Record<string, LabelClass> {
  return Object.fromEntries(classes.map((c) => [c.id, { name: c.name, color: c.color || null, index: c.index }]));
}

function imageEntries(images: readonly ImageData[], withAnnotations: boolean): Record<string, ImageEntry> {
  const entries: Record<string, ImageEntry> = {};
  for (const img of images) {
    entries[img.id] = withAnnotations
      ? { filename: img.filename, annotations: img.annotations.map(toPluginAnnotation) }
      : { filename: img.filename };
  }
  return entries;
}

/** The seed's training data dict: images with their annotations, and the label classes. */
export function toTrainingData(images: readonly ImageData[], labelClasses: readonly WireLabelClass[], opts: { ignoreUnlabeled?: boolean } = {}): TrainingData {
  return { images: imageEntries(images, true), labelClasses: toPluginLabelClasses(labelClasses), ignoreUnlabeled: opts.ignoreUnlabeled ?? false };
}

/** The same dict for inference: no annotations section at all, as the seed says. */
export function toInferenceData(images: readonly ImageData[], labelClasses: readonly WireLabelClass[], opts: { ignoreUnlabeled?: boolean } = {}): InferenceData {
  return { images: imageEntries(images, false) as InferenceData['images'], labelClasses: toPluginLabelClasses(labelClasses), ignoreUnlabeled: opts.ignoreUnlabeled ?? false };
}

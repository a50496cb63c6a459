/** Annotations ⇄ aide.v1: the oneof geometry becomes a tagged domain geometry (an absent one is an image label). */
import type { Annotation as ProtoAnnotation } from '../../../libs/gen/aide/v1/common.js';
import type { Annotation, AnnotationInput } from '../domain.js';

function geometryFromProto(g: ProtoAnnotation['geometry']): AnnotationInput['geometry'] {
  switch (g?.$case) {
    case 'point': return { kind: 'point', ...g.value };
    case 'boundingBox': return { kind: 'box', ...g.value };
    case 'mask': return { kind: 'mask', ...g.value };
    default: return { kind: 'label' };
  }
}

function geometryToProto(g: Annotation['geometry']): ProtoAnnotation['geometry'] {
  switch (g.kind) {
    case 'point': return { $case: 'point', value: { x: g.x, y: g.y } };
    case 'box': return { $case: 'boundingBox', value: { x: g.x, y: g.y, width: g.width, height: g.height } };
    case 'mask': return { $case: 'mask', value: { data: Buffer.from(g.data), width: g.width, height: g.height } };
    default: return undefined;
  }
}

/** Unvalidated: see annotation-rules.ts. `author` is the caller's, not the client's claim. */
export const annotationFromProto = (a: ProtoAnnotation, author: string): AnnotationInput => ({
  ...(a.id ? { id: a.id } : {}),
  imageId: a.imageId,
  labelClassId: a.labelClassId || null,
  unsure: a.unsure,
  author,
  geometry: geometryFromProto(a.geometry),
});

export const annotationToProto = (a: Annotation): ProtoAnnotation => ({
  id: a.id,
  imageId: a.imageId,
  labelClassId: a.labelClassId ?? '',
  unsure: a.unsure,
  author: a.author,
  createdAt: a.createdAt,
  geometry: geometryToProto(a.geometry),
});

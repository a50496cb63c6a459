/**
 * What makes an annotation valid for a project: the geometry its annotation
 * type collects, coordinates finite and in [0, 1], boxes with a positive size,
 * a label class of the project (none for masks), and masks of the image's size
 * holding known class indices. Field names are the API's (snake_case), so a
 * client learns exactly which value to fix.
 */
import { notFound, type FieldViolation } from '../../libs/errors.js';
import type { AnnotationInput, AnnotationType, Image, LabelClass } from './domain.js';

export interface AnnotationContext {
  annotationType: AnnotationType;
  /** The project's classes by id. */
  classes: ReadonlyMap<string, LabelClass>;
  /** The images the annotations name, all of this project. */
  images: ReadonlyMap<string, Image>;
}

const EXPECTED: Record<AnnotationType, { kind: AnnotationInput['geometry']['kind']; field: string }> = {
  labels: { kind: 'label', field: 'no geometry' },
  points: { kind: 'point', field: 'point' },
  boundingBoxes: { kind: 'box', field: 'bounding_box' },
  segmentationMasks: { kind: 'mask', field: 'mask' },
};

const unit = (v: number): boolean => Number.isFinite(v) && v >= 0 && v <= 1;

function coordinates(out: FieldViolation[], field: string, values: Record<string, number>): void {
  for (const [name, v] of Object.entries(values)) {
    if (!unit(v)) out.push({ field: `${field}.${name}`, description: `${v} is not a finite number in [0, 1]` });
  }
}

function maskViolations(out: FieldViolation[], field: string, a: AnnotationInput & { geometry: { kind: 'mask' } }, ctx: AnnotationContext): void {
  const m = a.geometry;
  const image = ctx.images.get(a.imageId);
  if (m.width < 1 || m.height < 1) {
    out.push({ field: `${field}.mask.width`, description: 'width and height must be positive' });
    return;
  }
  // Images whose size the FileServer could not tell (0×0) cannot be checked against.
  if (image && image.width > 0 && (m.width !== image.width || m.height !== image.height)) {
    out.push({ field: `${field}.mask.width`, description: `mask is ${m.width}×${m.height}, the image ${image.width}×${image.height}` });
    return;
  }
  if (m.data.byteLength !== m.width * m.height) {
    out.push({ field: `${field}.mask.data`, description: `has ${m.data.byteLength} bytes, expected width × height = ${m.width * m.height}` });
    return;
  }
  const maxIndex = Math.max(0, ...[...ctx.classes.values()].map((c) => c.index));
  const bad = m.data.findIndex((v) => v > maxIndex);
  if (bad >= 0) out.push({ field: `${field}.mask.data`, description: `pixel ${bad} holds class index ${m.data[bad]}, the project's highest is ${maxIndex}` });
  if (a.labelClassId !== null) out.push({ field: `${field}.label_class_id`, description: 'must be empty for a mask (its classes are in the pixels)' });
}

/** The violations of one annotation, its fields prefixed with `field` (e.g. "annotations[2]"). */
export function annotationViolations(a: AnnotationInput, ctx: AnnotationContext, field: string): FieldViolation[] {
  const out: FieldViolation[] = [];
  const expected = EXPECTED[ctx.annotationType];
  const g = a.geometry;
  if (g.kind !== expected.kind) {
    out.push({ field: `${field}.geometry`, description: `a ${ctx.annotationType} project takes annotations with ${expected.field}` });
    return out;
  }
  if (g.kind === 'mask') {
    maskViolations(out, field, { ...a, geometry: g }, ctx);
    return out;
  }
  if (a.labelClassId === null) out.push({ field: `${field}.label_class_id`, description: 'is required' });
  if (g.kind === 'point') coordinates(out, `${field}.point`, { x: g.x, y: g.y });
  if (g.kind === 'box') {
    coordinates(out, `${field}.bounding_box`, { x: g.x, y: g.y });
    for (const [name, v] of Object.entries({ width: g.width, height: g.height })) {
      if (!(Number.isFinite(v) && v > 0 && v <= 1)) out.push({ field: `${field}.bounding_box.${name}`, description: `${v} is not a finite number in (0, 1]` });
    }
  }
  return out;
}

/** NOT_FOUND for a label class that is not the project's (as for any id of another project). */
export function assertKnownClass(a: AnnotationInput, ctx: AnnotationContext, field: string): void {
  if (a.labelClassId !== null && !ctx.classes.has(a.labelClassId)) {
    throw notFound(`${field}.label_class_id: label class ${a.labelClassId}`);
  }
}

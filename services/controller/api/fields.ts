/** Request field checks shared by the handlers: each names the offending field in its INVALID_ARGUMENT. */
import { invalidField } from '../../../libs/errors.js';
import { Filter } from '../../../libs/gen/aide/v1/controller.js';
import type { AnnotationType as ProtoAnnotationType } from '../../../libs/gen/aide/v1/common.js';
import type { Principal } from '../../../libs/grpc/index.js';
import { annotationTypeFromProto } from '../../../libs/wire/plugin-info.js';
import type { AnnotationType } from '../domain.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A required id. */
export function id(field: string, value: string): string {
  if (value === '') throw invalidField(field, 'is required');
  if (!UUID.test(value)) throw invalidField(field, `'${value}' is not an id`);
  return value.toLowerCase();
}

/** An optional id: '' = absent. */
export const optionalId = (field: string, value: string): string | undefined => (value === '' ? undefined : id(field, value));

/** A list of ids, each named by its position. */
export const ids = (field: string, values: readonly string[]): string[] => values.map((v, i) => id(`${field}[${i}]`, v));

/** A non-empty list of ids. */
export function someIds(field: string, values: readonly string[]): string[] {
  if (values.length === 0) throw invalidField(field, 'must name at least one id');
  return ids(field, values);
}

/**
 * The longest free text each kind of field takes, in characters (after
 * trimming); documented on the fields in proto/aide/v1. A longer value is
 * INVALID_ARGUMENT naming the field, never stored or cut.
 */
export const TEXT_LIMITS = {
  /** Label-class and marketplace-entry names, annotation authors. */
  name: 200,
  /** Project display names, image-folder prefixes. */
  line: 1000,
  /** Marketplace descriptions. */
  description: 10_000,
} as const;

export function text(field: string, value: string, opts: { max?: number; required?: boolean } = {}): string {
  const trimmed = value.trim();
  const max = opts.max ?? TEXT_LIMITS.line;
  if (opts.required && trimmed === '') throw invalidField(field, 'is required');
  if (trimmed.length > max) throw invalidField(field, `is longer than ${max} characters`);
  return trimmed;
}

const COLOR = /^#[0-9a-fA-F]{6}$/;

/** "#rrggbb" or ''. */
export function color(field: string, value: string): string {
  if (value !== '' && !COLOR.test(value)) throw invalidField(field, `'${value}' is not a #rrggbb colour`);
  return value.toLowerCase();
}

export function annotationType(field: string, value: ProtoAnnotationType): AnnotationType {
  const t = annotationTypeFromProto(value);
  if (!t) throw invalidField(field, 'must be one of labels, points, bounding boxes, segmentation masks');
  return t;
}

/** The tri-state filter as an optional boolean. */
export const filter = (f: Filter): boolean | undefined => (f === Filter.FILTER_YES ? true : f === Filter.FILTER_NO ? false : undefined);

/** Who is writing, for authored records. */
export function authorOf(principal: Principal): string {
  switch (principal.kind) {
    case 'token': return principal.name;
    case 'peer': return principal.identity;
    default: return '';
  }
}

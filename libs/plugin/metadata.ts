/**
 * Registry metadata of a plugin (the seed's PREDICTION_MODELS /
 * ALCRITERION_MODELS entries), validated on load and normalized to one shape.
 */
import sanitizeHtml from 'sanitize-html';
import { z } from 'zod';
import { ANNOTATION_TYPES, type AnnotationType } from './data.js';

const annotationType = z.enum(ANNOTATION_TYPES as [AnnotationType, ...AnnotationType[]]);
const oneOrMany = z.union([annotationType, z.array(annotationType).nonempty()], {
  error: `must be one of ${ANNOTATION_TYPES.join(', ')}, or a non-empty list of them`,
});

const common = {
  /** Unique id, e.g. "builtin.entropy" or "contrib.my_model". */
  key: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/, 'letters, digits and _ . : / - only'),
  name: z.string().trim().min(1),
  author: z.string(),
  /** Basic HTML; scripts, event handlers and javascript: URLs are removed. */
  description: z.string(),
  // Both spellings: the seed's (canAddLabelclasses) keeps ported entries valid.
  canAddLabelClasses: z.boolean().optional(),
  canRemoveLabelClasses: z.boolean().optional(),
  canAddLabelclasses: z.boolean().optional(),
  canRemoveLabelclasses: z.boolean().optional(),
  /** Models: false for one that only predicts (a pretrained graph run as it is); training it is refused up front. */
  trainable: z.boolean().optional(),
};

const schema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('model'), ...common, annotationType: oneOrMany, predictionType: annotationType }),
  z.object({ kind: z.literal('ranker'), ...common, annotationType: oneOrMany.optional(), predictionType: oneOrMany }),
]);

/** Metadata as a plugin author writes it (static `metadata` of the class). */
export type PluginMetadataInput = z.input<typeof schema>;

export type PluginKind = 'model' | 'ranker';

/** Metadata as the registry serves it (cf. aide.v1.PluginInfo). */
export interface PluginMetadata {
  kind: PluginKind;
  key: string;
  name: string;
  author: string;
  /** Sanitized HTML. */
  description: string;
  annotationTypes: AnnotationType[];
  predictionTypes: AnnotationType[];
  canAddLabelClasses: boolean;
  canRemoveLabelClasses: boolean;
  /** Whether train() can do anything (false: StartTraining and a workflow's train step are FAILED_PRECONDITION). */
  trainable: boolean;
}

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: [...sanitizeHtml.defaults.allowedTags, 'img'],
  allowedAttributes: {
    a: ['href', 'name', 'target', 'rel', 'title'],
    img: ['src', 'alt', 'title', 'width', 'height'],
  },
  // No javascript:, data: or other schemes that can run code.
  allowedSchemes: ['http', 'https', 'mailto'],
};

/** Keeps basic HTML of a description; drops <script>, on*= handlers and javascript: URLs. */
export const sanitizeDescription = (html: string): string => sanitizeHtml(html, SANITIZE);

const asList = (v: AnnotationType | AnnotationType[] | undefined): AnnotationType[] =>
  v === undefined ? [] : Array.isArray(v) ? [...new Set(v)] : [v];

/** Validates and normalizes; throws an Error naming every offending field. */
export function parseMetadata(raw: unknown): PluginMetadata {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(metadata)'}: ${i.message}`);
    throw new Error(`invalid metadata: ${issues.join('; ')}`);
  }
  const m = parsed.data;
  return {
    kind: m.kind,
    key: m.key,
    name: m.name,
    author: m.author,
    description: sanitizeDescription(m.description),
    annotationTypes: asList(m.annotationType),
    predictionTypes: asList(m.predictionType),
    canAddLabelClasses: m.canAddLabelClasses ?? m.canAddLabelclasses ?? false,
    canRemoveLabelClasses: m.canRemoveLabelClasses ?? m.canRemoveLabelclasses ?? false,
    trainable: m.trainable ?? true,
  };
}

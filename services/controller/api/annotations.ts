import { invalidArgument, invalidField } from '../../../libs/errors.js';
import { Annotation as ProtoAnnotation } from '../../../libs/gen/aide/v1/common.js';
import { annotationViolations, assertKnownClass } from '../annotation-rules.js';
import type { AnnotationInput } from '../domain.js';
import * as store from '../store/annotations.js';
import { inTransaction, type Db } from '../store/db.js';
import { imagesByIds } from '../store/images.js';
import { listLabelClasses } from '../store/label-classes.js';
import { getProject } from '../store/projects.js';
import { annotationFromProto, annotationToProto } from '../wire/annotation.js';
import type { ControllerDeps, ControllerHandlers } from './deps.js';
import { authorOf, id, optionalId, someIds, text, TEXT_LIMITS } from './fields.js';
import { paginate } from './paging.js';

/** Annotations written per request at most. */
const MAX_ANNOTATIONS = 10_000;

/** Checks every annotation against the project, then writes them all, in one transaction. */
function validateAndWrite(db: Db, project: string, inputs: AnnotationInput[]) {
  return inTransaction(db, async (client) => {
    const { annotationType } = await getProject(client, project);
    inputs.forEach((a, i) => {
      optionalId(`annotations[${i}].id`, a.id ?? '');
      id(`annotations[${i}].image_id`, a.imageId);
      if (a.labelClassId !== null) id(`annotations[${i}].label_class_id`, a.labelClassId);
    });
    const images = await imagesByIds(client, project, inputs.map((a) => a.imageId));
    const ctx = { annotationType, images, classes: new Map((await listLabelClasses(client, project)).map((c) => [c.id, c])) };
    const violations = inputs.flatMap((a, i) => annotationViolations(a, ctx, `annotations[${i}]`));
    if (violations.length > 0) throw invalidArgument(violations);
    inputs.forEach((a, i) => assertKnownClass(a, ctx, `annotations[${i}]`));
    return store.upsertAnnotations(client, project, inputs);
  });
}

export function annotationHandlers({ pool, jobs }: ControllerDeps): Pick<ControllerHandlers,
  'upsertAnnotations' | 'listAnnotations' | 'deleteAnnotations'> {
  return {
    async upsertAnnotations(req, ctx) {
      if (req.annotations.length === 0) throw invalidField('annotations', 'must hold at least one annotation');
      if (req.annotations.length > MAX_ANNOTATIONS) throw invalidField('annotations', `holds more than ${MAX_ANNOTATIONS}`);
      // The author stored is the caller; a client's own claim is not kept, but an over-long one is refused, not dropped unnoticed.
      req.annotations.forEach((a, i) => text(`annotations[${i}].author`, a.author, { max: TEXT_LIMITS.name }));
      const author = authorOf(ctx.principal);
      const written = await validateAndWrite(pool, req.project, req.annotations.map((a) => annotationFromProto(a, author)));
      await jobs.annotationsWritten?.(req.project);
      return { annotations: written.map(annotationToProto) };
    },

    async listAnnotations(req) {
      await getProject(pool, req.project);
      const imageId = optionalId('image_id', req.imageId);
      const page = await paginate(req, `annotations:${req.project}:${imageId ?? ''}`,
        async (p) => (await store.listAnnotations(pool, req.project, imageId ? { imageId } : {}, p)).map(annotationToProto), (a) => a.id,
        // Masks make an annotation up to a message large: pages are cut by bytes too.
        (a) => ProtoAnnotation.encode(a).finish().length);
      return { annotations: page.items, nextPageToken: page.nextPageToken };
    },

    async deleteAnnotations(req) {
      await getProject(pool, req.project);
      return { deleted: await store.deleteAnnotations(pool, req.project, someIds('ids', req.ids)) };
    },
  };
}

import { failedPrecondition } from '../../../libs/errors.js';
import { AnnotationType } from '../../../libs/gen/aide/v1/common.js';
import type { MarketplaceEntry } from '../domain.js';
import type { Db } from '../store/db.js';
import { listLabelClasses } from '../store/label-classes.js';
import * as market from '../store/marketplace.js';
import { copyState, getCompleteState } from '../store/model-states.js';
import { getProject } from '../store/projects.js';
import { entryToProto, stateInfoToProto } from '../wire/model-state.js';
import type { ControllerDeps, ControllerHandlers } from './deps.js';
import { annotationType, authorOf, id, text } from './fields.js';

/** Re-keys a class map from one key space to another; keys without a counterpart are dropped. */
function rekey(map: Record<string, number>, key: (k: string) => string | undefined): Record<string, number> {
  return Object.fromEntries(Object.entries(map).flatMap(([k, v]) => {
    const to = key(k);
    return to === undefined ? [] : [[to, v]];
  }));
}

/**
 * A copy of a shared state in `project`: a new version whose parent is the
 * source, with its classes mapped by name onto the project's own classes.
 */
async function importEntry(db: Db, project: string, entry: MarketplaceEntry) {
  const target = await getProject(db, project);
  if (target.predictionType !== entry.predictionType) {
    throw failedPrecondition(`the shared model predicts ${entry.predictionType}, project '${project}' wants ${target.predictionType}`);
  }
  const source = await getCompleteState(db, entry.originProject, entry.modelStateId);
  const byName = new Map((await listLabelClasses(db, project)).map((c) => [c.name, c.id]));
  return copyState(db, source.id, {
    project,
    modelLibrary: entry.modelLibrary,
    labelClassMap: rekey(entry.labelClassNames, (name) => byName.get(name)),
    stats: source.stats,
    parentId: source.id,
    numImages: source.numImages,
  });
}

export function marketplaceHandlers({ pool }: ControllerDeps): Pick<ControllerHandlers,
  'shareModelState' | 'listMarketplace' | 'importFromMarketplace'> {
  return {
    async shareModelState(req, ctx) {
      const project = await getProject(pool, req.project);
      const state = await getCompleteState(pool, req.project, id('model_state_id', req.modelStateId));
      const names = new Map((await listLabelClasses(pool, req.project)).map((c) => [c.id, c.name]));
      const entry = await market.insertEntry(pool, {
        name: text('name', req.name, { required: true, max: 200 }),
        description: text('description', req.description, { max: 10_000 }),
        author: authorOf(ctx.principal),
        annotationType: project.annotationType,
        predictionType: project.predictionType,
        originProject: project.name,
        modelLibrary: state.modelLibrary,
        modelStateId: state.id,
        labelClassNames: rekey(state.labelClassMap, (classId) => names.get(classId)),
      });
      return { entry: entryToProto(entry) };
    },

    async listMarketplace(req) {
      const filter = req.annotationType === AnnotationType.ANNOTATION_TYPE_UNSPECIFIED ? {} : { annotationType: annotationType('annotation_type', req.annotationType) };
      return { entries: (await market.listEntries(pool, filter)).map(entryToProto) };
    },

    async importFromMarketplace(req) {
      const entry = await market.getEntry(pool, id('entry_id', req.entryId));
      return { state: stateInfoToProto(await importEntry(pool, req.project, entry)) };
    },
  };
}

import { peekHead } from '../../../libs/blob/index.js';
import { failedPrecondition } from '../../../libs/errors.js';
import { AnnotationType } from '../../../libs/gen/aide/v1/common.js';
import { STATE_HEAD_BYTES } from '../../../libs/plugin/plugin.js';
import type { Registry } from '../../../libs/plugin/registry.js';
import type { MarketplaceEntry } from '../domain.js';
import { listLabelClasses } from '../store/label-classes.js';
import * as market from '../store/marketplace.js';
import { copyState, getCompleteState, stateBytes, type StateStore } from '../store/model-states.js';
import { getProject } from '../store/projects.js';
import { entryToProto, stateInfoToProto } from '../wire/model-state.js';
import type { ControllerDeps, ControllerHandlers } from './deps.js';
import { annotationType, authorOf, id, text, TEXT_LIMITS } from './fields.js';
import { modelMismatch } from './project-settings.js';

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
 * Only a state the project's types suit, whose first bytes its model takes
 * (verifyState; it may predate that check), is copied.
 */
async function importEntry(states: StateStore, registry: Registry, project: string, entry: MarketplaceEntry) {
  const { db } = states;
  const target = await getProject(db, project);
  if (target.predictionType !== entry.predictionType) {
    throw failedPrecondition(`the shared model predicts ${entry.predictionType}, project '${project}' wants ${target.predictionType}`);
  }
  const mismatch = modelMismatch(registry, entry.modelLibrary, target);
  if (mismatch) throw failedPrecondition(`the shared model cannot serve project '${project}': ${mismatch}`);
  const source = await getCompleteState(db, entry.originProject, entry.modelStateId);
  const { head } = await peekHead(stateBytes(states, source), STATE_HEAD_BYTES);
  const refused = await registry.verifyState(entry.modelLibrary, head, source.sizeBytes);
  if (refused !== undefined) throw failedPrecondition(`the shared state is not a model state of '${entry.modelLibrary}': ${refused}`);
  const byName = new Map((await listLabelClasses(db, project)).map((c) => [c.name, c.id]));
  return copyState(states, source.id, {
    project,
    modelLibrary: entry.modelLibrary,
    labelClassMap: rekey(entry.labelClassNames, (name) => byName.get(name)),
    stats: source.stats,
    parentId: source.id,
    numImages: source.numImages,
  });
}

export function marketplaceHandlers({ pool, states, registry }: ControllerDeps): Pick<ControllerHandlers,
  'shareModelState' | 'listMarketplace' | 'importFromMarketplace'> {
  return {
    async shareModelState(req, ctx) {
      const project = await getProject(pool, req.project);
      const state = await getCompleteState(pool, req.project, id('model_state_id', req.modelStateId));
      const names = new Map((await listLabelClasses(pool, req.project)).map((c) => [c.id, c.name]));
      const entry = await market.insertEntry(pool, {
        name: text('name', req.name, { required: true, max: TEXT_LIMITS.name }),
        description: text('description', req.description, { max: TEXT_LIMITS.description }),
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
      return { state: stateInfoToProto(await importEntry(states, registry, req.project, entry)) };
    },
  };
}

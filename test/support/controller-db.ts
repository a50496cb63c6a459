/** A migrated controller schema for tests that call the controller's store and orchestration functions directly. */
import type { TestContext } from 'node:test';
import type pg from 'pg';
import { migrate } from '../../libs/db/index.js';
import { CONTROLLER_MIGRATIONS } from '../../services/controller/schema/index.js';
import type { ProjectSettings } from '../../services/controller/domain.js';
import type { LabelClass, ModelStateInfo } from '../../services/controller/domain.js';
import { addLabelClasses } from '../../services/controller/store/label-classes.js';
import { insertState, type StateStore } from '../../services/controller/store/model-states.js';
import { insertProject } from '../../services/controller/store/projects.js';
import { databaseTargets, withTestSchema } from './postgres.js';
import { tempStateStore } from './state-store.js';

/** A labels project with no model or ranker (unless `settings` name them) and default settings, for store-level tests and benchmarks. */
export async function insertLabelsProject(db: pg.Pool, project: string, settings: Partial<ProjectSettings> = {}): Promise<void> {
  await insertProject(db, {
    name: project, displayName: '', annotationType: 'labels', predictionType: 'labels',
    settings: {
      modelLibrary: '', modelOptionsJson: '', rankerLibrary: '', rankerOptionsJson: '',
      autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 1, numEpochs: 1 },
      ignoreUnlabeled: false, minAnnotationsPerImage: 0, maxTrainingImages: 0,
      ...settings,
    },
  });
}

/** A one-byte model state of `project` with one output, `labelClassId`: what store-level tests and benchmarks hang predictions on. */
export function insertOneClassState(store: StateStore, project: string, labelClassId: string) {
  return insertState(store, { project, modelLibrary: 'test', labelClassMap: { [labelClassId]: 0 }, stats: {}, parentId: null, numImages: 0 }, Buffer.from('s'));
}

/** The pool of a fresh controller schema (real Postgres when it answers, else PGlite) with a labels project `project`. */
export async function controllerDb(t: TestContext, project: string): Promise<pg.Pool | undefined> {
  const targets = await databaseTargets();
  const database = await withTestSchema(t, targets.find((x) => !x.unavailable)!);
  if (!database) return undefined;
  await migrate(database.pool, CONTROLLER_MIGRATIONS);
  await insertLabelsProject(database.pool, project);
  return database.pool;
}

/** controllerDb with a state store, one label class `a` and a one-class state of it: where store-level prediction tests start. */
export async function oneClassStateDb(t: TestContext, project: string): Promise<{ pool: pg.Pool; states: StateStore; cls: LabelClass; state: ModelStateInfo } | undefined> {
  const pool = await controllerDb(t, project);
  if (!pool) return undefined;
  const states = await tempStateStore(t, pool);
  const [cls] = await addLabelClasses(pool, project, [{ name: 'a', color: '' }]);
  return { pool, states, cls: cls!, state: await insertOneClassState(states, project, cls!.id) };
}

/** A migrated controller schema for tests that call the controller's store and orchestration functions directly. */
import type { TestContext } from 'node:test';
import type pg from 'pg';
import { migrate } from '../../libs/db/index.js';
import { CONTROLLER_MIGRATIONS } from '../../services/controller/schema/index.js';
import type { ProjectSettings } from '../../services/controller/domain.js';
import { insertState, type StateStore } from '../../services/controller/store/model-states.js';
import { insertProject } from '../../services/controller/store/projects.js';
import { databaseTargets, withTestSchema } from './postgres.js';

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

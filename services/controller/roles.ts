/**
 * Who may call what: every ControllerService RPC and the role it needs on the
 * request's project. Enforced in one place, secured.ts, before any handler runs.
 *
 *   'authenticated'  project-less calls: any caller with credentials
 *                    (ListProjects then shows only the projects it has a role on)
 *   'global-admin'   CreateProject: admin on '*' — a new project has no grants
 *                    yet, so only an administrator of every project may create one
 */
import type { Role } from '../../libs/auth/roles.js';
import type { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import type { ImportModelStateRequest } from '../../libs/gen/aide/v1/controller.js';

export type Access = Role | 'authenticated' | 'global-admin';

export type AccessTable<S> = { readonly [K in keyof S]: Access };

export const CONTROLLER_ACCESS: AccessTable<typeof ControllerServiceService> = {
  createProject: 'global-admin',
  getProject: 'viewer',
  listProjects: 'authenticated',
  updateProjectSettings: 'admin',
  deleteProject: 'admin',

  addLabelClass: 'admin',
  addLabelClasses: 'admin',
  updateLabelClass: 'admin',
  removeLabelClass: 'admin',
  listLabelClasses: 'viewer',

  registerImages: 'admin',
  listImages: 'annotator',
  getImage: 'annotator',
  setGoldenQuestions: 'admin',
  getImageUrl: 'annotator',

  upsertAnnotations: 'annotator',
  listAnnotations: 'annotator',
  deleteAnnotations: 'annotator',

  listPredictions: 'annotator',
  streamPredictions: 'annotator',
  nextBatch: 'annotator',
  listSuspectAnnotations: 'annotator',

  listPlugins: 'authenticated',
  getDefaultOptions: 'authenticated',
  verifyOptions: 'authenticated',

  listModelStates: 'viewer',
  exportModelState: 'admin',
  importModelState: 'admin',
  deleteModelState: 'admin',
  setCurrentModelState: 'admin',
  getTrainingStatistics: 'viewer',
  shareModelState: 'admin',
  listMarketplace: 'authenticated',
  importFromMarketplace: 'admin',

  startTraining: 'trainer',
  startInference: 'trainer',
  startRanking: 'trainer',
  startWorkflow: 'trainer',
  listJobs: 'viewer',
  getJob: 'viewer',
  watchJob: 'viewer',
  cancelJob: 'trainer',
};

/**
 * Client-streaming calls carry their project in the first message: the check
 * runs when the handler takes that message, before it acts on it.
 */
export const CONTROLLER_STREAM_PROJECT: { readonly importModelState: (first: ImportModelStateRequest) => string | undefined } = {
  importModelState: (first) => (first.payload?.$case === 'header' ? first.payload.value.project : undefined),
};

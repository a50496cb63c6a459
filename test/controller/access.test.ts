import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasRole, requireRole, visibleProjects } from '../../libs/auth/roles.js';
import { isAideError, type ErrorKind } from '../../libs/errors.js';
import { AnnotationType } from '../../libs/gen/aide/v1/common.js';
import { ControllerServiceService, type ImportModelStateRequest } from '../../libs/gen/aide/v1/controller.js';
import type { Principal } from '../../libs/grpc/index.js';
import { CONTROLLER_ACCESS } from '../../services/controller/roles.js';
import { insertImages } from '../../services/controller/store/images.js';
import { insertState } from '../../services/controller/store/model-states.js';
import { controllerTargets } from './harness.js';

const token = (roles: Record<string, string>): Principal => ({ kind: 'token', tokenId: 't', name: 'n', roles: new Map(Object.entries(roles)) });
const is = (k: ErrorKind) => (e: unknown) => isAideError(e, k);

test('the role table names every ControllerService method, and nothing else', () => {
  assert.deepEqual(Object.keys(CONTROLLER_ACCESS).sort(), Object.keys(ControllerServiceService).sort());
});

test('roles are ordered; "*" grants on every project; peers may do anything; anonymous nothing', () => {
  const p = token({ a: 'trainer', '*': 'viewer' });
  assert.ok(hasRole(p, 'a', 'annotator'));
  assert.ok(hasRole(p, 'a', 'trainer'));
  assert.ok(!hasRole(p, 'a', 'admin'));
  assert.ok(hasRole(p, 'other', 'viewer'));
  assert.ok(!hasRole(p, 'other', 'annotator'));
  assert.ok(!hasRole(token({ a: 'bogus' }), 'a', 'viewer'));
  assert.ok(hasRole({ kind: 'peer', identity: 'w' }, 'x', 'admin'));
  assert.ok(!hasRole({ kind: 'anonymous' }, 'x', 'viewer'));
  assert.throws(() => requireRole({ kind: 'anonymous' }, 'x', 'viewer'), is('UNAUTHENTICATED'));
  assert.throws(() => requireRole(p, 'a', 'admin'), is('PERMISSION_DENIED'));
  assert.deepEqual(visibleProjects(token({ a: 'viewer', b: 'admin' })), ['a', 'b']);
  assert.equal(visibleProjects(p), undefined);
});

const noSettings = { modelLibrary: '', modelOptionsJson: '', rankerLibrary: '', rankerOptionsJson: '', autoTrain: undefined, ignoreUnlabeled: false, minAnnotationsPerImage: 0, maxTrainingImages: 0 };

for (const target of await controllerTargets()) {
  test(`roles enforced and projects isolated over gRPC (${target.name})`, { skip: target.skip }, async (t) => {
    const h = await target.start(t);
    if (!h) return;
    const pool = h.controller.database.pool;
    for (const name of ['proj-a', 'proj-b']) {
      await h.peer.createProject({ name, displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_POINTS, predictionType: AnnotationType.ANNOTATION_TYPE_POINTS, settings: noSettings });
      await insertImages(pool, name, [{ filePath: 'x.png', sizeBytes: 1, width: 0, height: 0 }]);
    }
    const imageOf = async (project: string) => (await h.peer.listImages({ project, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 0, pageToken: '' })).images[0]!.id;
    const [imgA, imgB] = [await imageOf('proj-a'), await imageOf('proj-b')];
    const classA = (await h.peer.addLabelClass({ project: 'proj-a', name: 'A', color: '' })).labelClass!.id;
    const stateA = await insertState(h.controller.states, { project: 'proj-a', modelLibrary: 'test.fixture', labelClassMap: {}, stats: {}, parentId: null, numImages: 0 }, Buffer.from('s'));
    const jobA = (await pool.query<{ id: string }>(`INSERT INTO jobs (project, kind) VALUES ('proj-a', 'train') RETURNING id`)).rows[0]!.id;

    await t.test('UNAUTHENTICATED without credentials, project calls and project-less ones alike', async () => {
      await assert.rejects(h.anonymous.getProject({ project: 'proj-a' }), is('UNAUTHENTICATED'));
      await assert.rejects(h.anonymous.listProjects({ pageSize: 0, pageToken: '' }), is('UNAUTHENTICATED'));
      await assert.rejects(async () => { for await (const _ of h.anonymous.watchJob({ project: 'proj-a', id: jobA })) { /* none */ } }, is('UNAUTHENTICATED'));
    });

    await t.test('PERMISSION_DENIED below the needed role, or on another project', async () => {
      const viewer = h.as('proj-a=viewer');
      assert.equal((await viewer.getProject({ project: 'proj-a' })).project!.name, 'proj-a');
      await assert.rejects(viewer.listImages({ project: 'proj-a', annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 0, pageToken: '' }), is('PERMISSION_DENIED'));
      await assert.rejects(viewer.getProject({ project: 'proj-b' }), is('PERMISSION_DENIED'));
      const annotator = h.as('proj-a=annotator');
      await annotator.upsertAnnotations({ project: 'proj-a', annotations: [{ id: '', imageId: imgA, labelClassId: classA, unsure: false, author: '', createdAt: undefined, geometry: { $case: 'point', value: { x: 0.1, y: 0.1 } } }] });
      await assert.rejects(annotator.startTraining({ project: 'proj-a', numWorkers: 0, numEpochs: 0, imageIds: [], fromScratch: false }), is('PERMISSION_DENIED'));
      const trainer = h.as('proj-a=trainer');
      await assert.rejects(trainer.addLabelClass({ project: 'proj-a', name: 'X', color: '' }), is('PERMISSION_DENIED'));
      await assert.rejects(trainer.deleteProject({ project: 'proj-a' }), is('PERMISSION_DENIED'));
      await assert.rejects(h.as('proj-a=admin').createProject({ name: 'c', displayName: '', annotationType: 1, predictionType: 1, settings: noSettings }), is('PERMISSION_DENIED'));
      await h.as('*=admin').createProject({ name: 'c', displayName: '', annotationType: 1, predictionType: 1, settings: noSettings });
    });

    await t.test('ImportModelState is checked on its header, before any chunk is read', async () => {
      const header: ImportModelStateRequest = { payload: { $case: 'header', value: { project: 'proj-a', modelLibrary: 'test.fixture', labelClassMap: {}, stats: {}, size: 1, numImages: 0 } } };
      await assert.rejects(h.as('proj-a=trainer').importModelState([header]), is('PERMISSION_DENIED'));
      await assert.rejects(h.anonymous.importModelState([header]), is('UNAUTHENTICATED'));
    });

    await t.test('ListProjects shows only the projects the caller has a role on', async () => {
      const listed = await h.as('proj-b=viewer').listProjects({ pageSize: 0, pageToken: '' });
      assert.deepEqual(listed.projects.map((p) => p.name), ['proj-b']);
      assert.deepEqual((await h.as('').listProjects({ pageSize: 0, pageToken: '' })).projects, []);
    });

    await t.test('ids of project A used in calls for project B are NOT_FOUND', async () => {
      const both = h.as('proj-a=admin,proj-b=admin');
      const b = 'proj-b';
      await assert.rejects(both.getImage({ project: b, id: imgA }), is('NOT_FOUND'));
      await assert.rejects(both.setGoldenQuestions({ project: b, imageIds: [imgB, imgA], goldenQuestion: true }), is('NOT_FOUND'));
      assert.equal((await both.getImage({ project: b, id: imgB })).image!.goldenQuestion, false, 'all-or-nothing');
      await assert.rejects(both.updateLabelClass({ project: b, id: classA, name: 'Z', color: '' }), is('NOT_FOUND'));
      await assert.rejects(both.removeLabelClass({ project: b, id: classA }), is('NOT_FOUND'));
      const annotation = (geometryImage: string) => ({ id: '', imageId: geometryImage, labelClassId: classA, unsure: false, author: '', createdAt: undefined, geometry: { $case: 'point' as const, value: { x: 0.1, y: 0.1 } } });
      await assert.rejects(both.upsertAnnotations({ project: b, annotations: [annotation(imgA)] }), is('NOT_FOUND'));
      await assert.rejects(both.upsertAnnotations({ project: b, annotations: [annotation(imgB)] }), is('NOT_FOUND'), 'a label class of A');
      const [annA] = (await both.listAnnotations({ project: 'proj-a', imageId: '', pageSize: 0, pageToken: '' })).annotations;
      await assert.rejects(both.upsertAnnotations({ project: b, annotations: [{ ...annotation(imgB), id: annA!.id }] }), is('NOT_FOUND'));
      await assert.rejects(both.deleteAnnotations({ project: b, ids: [annA!.id] }), is('NOT_FOUND'));
      await assert.rejects(both.listPredictions({ project: b, imageId: '', modelStateId: stateA.id, pageSize: 0, pageToken: '' }), is('NOT_FOUND'));
      await assert.rejects(both.setCurrentModelState({ project: b, id: stateA.id }), is('NOT_FOUND'));
      await assert.rejects(both.deleteModelState({ project: b, id: stateA.id }), is('NOT_FOUND'));
      await assert.rejects(async () => { for await (const _ of both.exportModelState({ project: b, id: stateA.id })) { /* none */ } }, is('NOT_FOUND'));
      await assert.rejects(both.shareModelState({ project: b, modelStateId: stateA.id, name: 'x', description: '' }), is('NOT_FOUND'));
      await assert.rejects(both.getJob({ project: b, id: jobA }), is('NOT_FOUND'));
      await assert.rejects(both.cancelJob({ project: b, id: jobA }), is('NOT_FOUND'));
      await assert.rejects(async () => { for await (const _ of both.watchJob({ project: b, id: jobA })) { /* none */ } }, is('NOT_FOUND'));
      await assert.rejects(both.getProject({ project: 'nope' }), is('PERMISSION_DENIED'));
      await assert.rejects(h.peer.getProject({ project: 'nope' }), is('NOT_FOUND'));
      await assert.rejects(h.peer.listLabelClasses({ project: 'nope' }), is('NOT_FOUND'));
    });
  });
}

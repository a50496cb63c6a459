/**
 * The mesh as separate processes, with no fault: the built-in classifier
 * trained on a worker process and predicting every unlabelled image,
 * under mTLS and under plaintext with a shared mesh token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobState } from '../../libs/gen/aide/v1/common.js';
import { lastState, meshUnavailable, predictionsPerImage, startMesh } from './mesh-processes.js';

const skip = await meshUnavailable();

for (const tls of [true, false]) {
  test(`${tls ? 'mTLS' : 'plaintext with a mesh token'}: train, then a prediction for every unlabelled image`, { skip, timeout: 180_000 }, async (t) => {
    const mesh = await startMesh(t, { tls, workers: 1, ranker: false });
    const project = await mesh.labelsProject('e2e', { images: 60, labelled: 40 });

    const training = await mesh.api.startTraining({ project: project.name, numWorkers: 1, numEpochs: 1, imageIds: [] });
    const trained = lastState(await mesh.finish(project.name, training.job!.id));
    assert.equal(trained.state, JobState.JOB_STATE_SUCCEEDED, trained.message);
    assert.deepEqual((await mesh.api.listModelStates({ project: project.name })).states.map((s) => s.version), [1]);

    const inference = await mesh.api.startInference({ project: project.name, imageIds: [], goldenQuestionsOnly: false, numWorkers: 1, modelStateId: '' });
    const inferred = lastState(await mesh.finish(project.name, inference.job!.id));
    assert.equal(inferred.state, JobState.JOB_STATE_SUCCEEDED, inferred.message);
    const predicted = await predictionsPerImage(mesh.api, project.name);
    const unlabelled = [...project.images.entries()].filter(([path]) => Number(path.slice(4, 8)) >= 40).map(([, id]) => id);
    assert.deepEqual([...predicted.keys()].sort(), unlabelled.sort(), 'a prediction for each unlabelled image, none for the others');
  });
}

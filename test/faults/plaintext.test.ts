/**
 * The mesh as separate processes under plaintext with a shared mesh token
 * ([Security] mesh_token), with no fault: the built-in classifier trained on
 * a worker process and predicting every unlabelled image. The same run under
 * mTLS opens test/faults/images.test.ts.
 */
import { test } from 'node:test';
import { meshUnavailable, startMesh, trainThenPredictAll } from './mesh-processes.js';

const skip = await meshUnavailable();

test('plaintext with a mesh token: train, then a prediction for every unlabelled image', { skip, timeout: 180_000 }, async (t) => {
  const mesh = await startMesh(t, { tls: false, workers: 1, ranker: false });
  await trainThenPredictAll(mesh, await mesh.labelsProject('e2e', { images: 60, labelled: 40 }), 1);
});

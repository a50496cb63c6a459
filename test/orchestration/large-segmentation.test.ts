/**
 * A segmentation model on large images, through the whole job chain: the
 * worker's predictions (10 MB an image) reach the controller in chunks and
 * are stored; ranking streams them from the database to the Ranker and back,
 * image by image; StreamPredictions returns them byte-exact with priorities.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { payload } from '../../libs/blob/index.js';
import { AnnotationType, JobState, type ImagePredictions } from '../../libs/gen/aide/v1/common.js';
import { probeContext } from '../../libs/plugin/probe.js';
import { readImagePredictions } from '../../libs/wire/image-predictions-parts.js';
import { LeastConfidenceRanker } from '../../models/rankers/least-confidence.js';
import { insertImages } from '../../services/controller/store/images.js';
import { insertState } from '../../services/controller/store/model-states.js';
import { encodeWeights, fixtureSegmentation } from '../support/fixture-model.js';
import { startOrchestratedController } from '../support/orchestrated-controller.js';

const PROJECT = 'orthos';
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('segmentation of large images: inference stores, ranking ranks, StreamPredictions returns every map', async (t) => {
  const mesh = await startOrchestratedController(t, { withRanker: true });
  if (!mesh) return;
  const { client: c, db, states } = mesh;
  // 1000×800 pixels × (1 + 4 + 2·4) bytes = 10.4 MB of maps an image: three chunks each way.
  const [width, height] = [1000, 800];
  await c.createProject({
    name: PROJECT, displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_SEGMENTATION_MASKS, predictionType: AnnotationType.ANNOTATION_TYPE_SEGMENTATION_MASKS,
    settings: {
      modelLibrary: 'test.fixture-segmentation', modelOptionsJson: JSON.stringify({ steps: 1, segmentation: { width, height } }), rankerLibrary: 'builtin.least_confidence', rankerOptionsJson: '',
      autoTrain: { enabled: false, minNewAnnotations: 10, numWorkers: 1, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
    },
  });
  await insertImages(db, PROJECT, Array.from({ length: 3 }, (_, i) => ({ filePath: `ortho/${i}.tif`, sizeBytes: 1, width, height })));
  const state = await insertState(states, { project: PROJECT, modelLibrary: 'test.fixture-segmentation', labelClassMap: {}, stats: {}, parentId: null, numImages: 0 }, Buffer.from(encodeWeights([0, 0, 0, 0])));
  await c.setCurrentModelState({ project: PROJECT, id: state.id });

  const { job: inference } = await c.startInference({ project: PROJECT, imageIds: [], goldenQuestionsOnly: false, numWorkers: 2, modelStateId: '', includeAnnotated: false });
  const inferred = await mesh.finish(PROJECT, inference!.id);
  assert.equal(inferred.at(-1)!.state, JobState.JOB_STATE_SUCCEEDED, inferred.at(-1)!.message);
  const { job: ranking } = await c.startRanking({ project: PROJECT, modelStateId: '' });
  const ranked = await mesh.finish(PROJECT, ranking!.id);
  assert.equal(ranked.at(-1)!.state, JobState.JOB_STATE_SUCCEEDED, ranked.at(-1)!.message);
  assert.match(ranked.at(-1)!.message, /of 3 images/);

  const images: ImagePredictions[] = [];
  for await (const part of readImagePredictions(c.streamPredictions({ project: PROJECT, imageId: '', modelStateId: '', imagesPerMessage: 0 }),
    { whole: payload('image'), chunk: payload('imageChunk') }, { close: true })) {
    if ('image' in part) images.push(part.image);
  }
  assert.equal(images.length, 3);
  const expected = fixtureSegmentation(width, height);
  // The priority the ranker gives the whole maps in-process: a map cut short or garbled on the way ranks otherwise.
  const direct = await new LeastConfidenceRanker(probeContext({})).rank({ img: { predictions: [expected] } }, () => {});
  const priority = direct.img!.predictions[0]!.priority!;
  assert.ok(priority > 0);
  for (const image of images) {
    const p = image.predictions[0]!;
    assert.ok(p.geometry?.$case === 'segmentation');
    assert.equal(sha(p.geometry.value.labelMap), sha(expected.labelMap));
    assert.equal(sha(p.geometry.value.confidenceMap), sha(new Uint8Array(expected.confidenceMap.buffer)));
    assert.equal(sha(p.geometry.value.logitsMap), sha(new Uint8Array(expected.logitsMap!.buffer)));
    assert.ok(Math.abs(p.priority - priority) < 1e-9, `${p.priority} vs ${priority}`);
  }
});

/**
 * Active learning through the API with the real job runner, in-process
 * workers and Ranker: a label model that knows each image's class from its
 * file name and gives planted embeddings; its embeddings survive the worker,
 * the store and StreamPredictions; builtin.coreset ranks jointly from the
 * annotated images' embeddings; review finds the planted wrong labels; the
 * stopping signal counts the images whose class changed between two states.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { payload } from '../../libs/blob/index.js';
import { AnnotationType, JobState } from '../../libs/gen/aide/v1/common.js';
import type { PluginMetadataInput } from '../../libs/plugin/metadata.js';
import type { PluginContext } from '../../libs/plugin/context.js';
import type { InferenceData, InferenceResult, TrainingData } from '../../libs/plugin/data.js';
import type { AIModel } from '../../libs/plugin/plugin.js';
import { decodeEmbedding, fromHalfBits, toHalfBits } from '../../libs/wire/embedding.js';
import { readImagePredictions } from '../../libs/wire/image-predictions-parts.js';
import { CoresetRanker } from '../../models/rankers/coreset.js';
import { insertImages } from '../../services/controller/store/images.js';
import { startOrchestratedController } from '../support/orchestrated-controller.js';

const PROJECT = 'active';

/** Where each image lies: "cat-3" at (0, 3), "dog-2" at (10, 2), four near-duplicates "far-k" at (50, 0.01·k). */
function embeddingOf(name: string): number[] {
  const [group, index] = name.split('-') as [string, string];
  const i = Number(index);
  return group === 'far' ? [50, 0.01 * i, 0.1] : [group === 'cat' ? 0 : 10, i, 0.1];
}

/**
 * Predicts each image's class from its file name ("far" images are cats),
 * confidence 0.6 + 0.05 × index, the embedding above; `flip` names images
 * it gets wrong instead. Training keeps nothing and reports `accuracy` as its
 * held-out accuracy.
 */
class OracleLabels implements AIModel {
  static readonly metadata: PluginMetadataInput = {
    kind: 'model', key: 'test.oracle-labels', name: 'Oracle labels', author: 'tests', description: 'Knows the class from the file name.',
    annotationType: 'labels', predictionType: 'labels',
  };

  static getDefaultOptions(): string {
    return JSON.stringify({ accuracy: 0.5, flip: [] });
  }

  readonly #opts: { accuracy: number; flip: string[] };

  constructor(ctx: PluginContext) {
    this.#opts = { accuracy: 0.5, flip: [], ...(ctx.options as object) };
  }

  async train(_state: Uint8Array | null, data: TrainingData) {
    return { state: new Uint8Array([1]), stats: { images: Object.keys(data.images).length, heldOutAccuracy: this.#opts.accuracy } };
  }

  async averageModelStates(states: Uint8Array[]) {
    return states[0]!;
  }

  async inference(_state: Uint8Array | null, data: InferenceData): Promise<InferenceResult> {
    const byName = new Map(Object.entries(data.labelClasses).map(([id, c]) => [c.name, id]));
    const result: InferenceResult = {};
    for (const [id, { filename }] of Object.entries(data.images)) {
      const name = filename.replace('.jpg', '');
      const [group, index] = name.split('-') as [string, string];
      const truth = group === 'dog' ? 'dog' : 'cat';
      const said = this.#opts.flip.includes(name) ? (truth === 'cat' ? 'dog' : 'cat') : truth;
      const confidence = 0.6 + 0.05 * Number(index);
      const logits = said === 'cat' ? [confidence, 1 - confidence] : [1 - confidence, confidence];
      result[id] = { predictions: [{ label: byName.get(said)!, confidence, logits }], embedding: Float32Array.from(embeddingOf(name)) };
    }
    return result;
  }
}

test('active learning: embeddings through the store, coreset ranking, suspect review, stopping signal', async (t) => {
  const mesh = await startOrchestratedController(t, { withRanker: true, plugins: [OracleLabels, CoresetRanker] });
  if (!mesh) return;
  const { client: c, db } = mesh;
  const settings = (modelOptions: object) => ({
    modelLibrary: 'test.oracle-labels', modelOptionsJson: JSON.stringify(modelOptions), rankerLibrary: 'builtin.coreset', rankerOptionsJson: '{"options":{"batch_size":2}}',
    autoTrain: { enabled: false, minNewAnnotations: 0, numWorkers: 1, numEpochs: 1 }, ignoreUnlabeled: false, minAnnotationsPerImage: 1, maxTrainingImages: 0,
  });
  await c.createProject({
    name: PROJECT, displayName: '', annotationType: AnnotationType.ANNOTATION_TYPE_LABELS, predictionType: AnnotationType.ANNOTATION_TYPE_LABELS,
    settings: settings({ accuracy: 0.7 }),
  });
  const { labelClasses } = await c.addLabelClasses({ project: PROJECT, labelClasses: [{ name: 'cat', color: '' }, { name: 'dog', color: '' }] });
  const classId = Object.fromEntries(labelClasses.map((l) => [l.name, l.id]));
  const names = [...['cat', 'dog'].flatMap((g) => Array.from({ length: 6 }, (_, i) => `${g}-${i}`)), ...Array.from({ length: 4 }, (_, i) => `far-${i}`)];
  await insertImages(db, PROJECT, names.map((name) => ({ filePath: `${name}.jpg`, sizeBytes: 1, width: 10, height: 10 })));
  const ids = Object.fromEntries((await c.listImages({ project: PROJECT, annotated: 0, hasPredictions: 0, goldenQuestion: 0, pageSize: 0, pageToken: '' }))
    .images.map((i) => [i.filePath.replace('.jpg', ''), i.id]));
  const nameOf = new Map(Object.entries(ids).map(([name, id]) => [id, name]));
  // Right labels on cat-0, dog-0; planted wrong ones on cat-1 (the model says cat at 0.65) and dog-3 (dog at 0.75).
  const labels: [string, string][] = [['cat-0', 'cat'], ['dog-0', 'dog'], ['cat-1', 'dog'], ['dog-3', 'cat']];
  const { annotations } = await c.upsertAnnotations({ project: PROJECT, annotations: labels.map(([image, label]) => ({
    id: '', imageId: ids[image]!, labelClassId: classId[label]!, unsure: false, author: '', createdAt: undefined, geometry: undefined,
  })) });
  const run = async (job: Promise<{ job?: { id: string } }>) => {
    const events = await mesh.finish(PROJECT, (await job).job!.id);
    assert.equal(events.at(-1)!.state, JobState.JOB_STATE_SUCCEEDED, events.at(-1)!.message);
    return events.at(-1)!;
  };
  await run(c.startTraining({ project: PROJECT, numWorkers: 1, numEpochs: 1, imageIds: [], fromScratch: false }));
  const end = await run(c.startInference({ project: PROJECT, imageIds: [], goldenQuestionsOnly: false, numWorkers: 2, modelStateId: '', includeAnnotated: true }));
  assert.match(end.message, /predicted 16 images/, 'the annotated images too');

  await t.test('embeddings survive the worker, the store and StreamPredictions (as float16), with the annotated flag', async () => {
    const streamed = new Map<string, { embedding: number[]; annotated: boolean }>();
    for await (const part of readImagePredictions(c.streamPredictions({ project: PROJECT, imageId: '', modelStateId: '' }), { whole: payload('image'), chunk: payload('imageChunk') })) {
      assert.ok('image' in part);
      streamed.set(nameOf.get(part.image.imageId)!, { embedding: Array.from(decodeEmbedding(part.image.embedding!)), annotated: part.image.annotated });
    }
    assert.equal(streamed.size, names.length);
    const half = (v: number) => fromHalfBits(toHalfBits(Math.fround(v)));
    for (const name of names) {
      assert.deepEqual(streamed.get(name)!.embedding, embeddingOf(name).map(half), name);
      assert.equal(streamed.get(name)!.annotated, labels.some(([image]) => image === name), name);
    }
  });

  await t.test('the coreset ranker selects jointly: one of the near-duplicates first, then an image far from them and the annotated ones', async () => {
    await run(c.startRanking({ project: PROJECT, modelStateId: '' }));
    const next = await c.nextBatch({ project: PROJECT, limit: 16, pathPrefix: '', excludePrefixes: [], pageToken: '' });
    const order = next.images.map((i) => i.filePath.replace('.jpg', ''));
    assert.equal(order.length, 12, 'the unannotated images');
    assert.deepEqual(next.priorities.slice(0, 2), [1, 0.75], 'the batch of 2 in selection order');
    assert.ok(next.priorities.slice(2).every((p) => p <= 0.5), 'the rest below the batch');
    assert.match(order[0]!, /^far-/, 'the farthest from the annotated images first');
    // Then the image farthest from the annotated ones and that pick: cat-5, 4 from cat-1 (dog-5 is 2 from dog-3).
    assert.equal(order[1], 'cat-5');
    assert.ok(order.slice(2, 5).every((n) => !n.startsWith('far-')), 'the other near-duplicates come last');
  });

  await t.test('review lists the planted wrong labels, most suspicious first, and nothing else', async () => {
    const { suspects } = await c.listSuspectAnnotations({ project: PROJECT, modelStateId: '', minMistakenness: 0, pageSize: 0, pageToken: '' });
    assert.deepEqual(suspects.map((s) => [nameOf.get(s.annotation!.imageId), s.mistakenness.toFixed(2)]), [['dog-3', '0.75'], ['cat-1', '0.65']]);
    assert.equal(suspects[0]!.predictedLabelClassId, classId.dog);
    assert.equal(suspects[0]!.annotation!.id, annotations[3]!.id);
    const page = await c.listSuspectAnnotations({ project: PROJECT, modelStateId: '', minMistakenness: 0, pageSize: 1, pageToken: '' });
    const second = await c.listSuspectAnnotations({ project: PROJECT, modelStateId: '', minMistakenness: 0, pageSize: 1, pageToken: page.nextPageToken });
    assert.deepEqual([...page.suspects, ...second.suspects].map((s) => s.annotation!.id), suspects.map((s) => s.annotation!.id), 'paged alike');
    const sure = await c.listSuspectAnnotations({ project: PROJECT, modelStateId: '', minMistakenness: 0.7, pageSize: 0, pageToken: '' });
    assert.deepEqual(sure.suspects.map((s) => nameOf.get(s.annotation!.imageId)), ['dog-3']);
  });

  await t.test('the stopping signal: the share of unannotated images whose class changed since the previous state, and the held-out trend', async () => {
    await c.updateProjectSettings({ project: PROJECT, settings: settings({ accuracy: 0.75, flip: ['cat-2', 'far-1', 'dog-0'] }) });
    await run(c.startTraining({ project: PROJECT, numWorkers: 1, numEpochs: 1, imageIds: [], fromScratch: false }));
    await run(c.startInference({ project: PROJECT, imageIds: [], goldenQuestionsOnly: false, numWorkers: 1, modelStateId: '', includeAnnotated: false }));
    const { stopping } = await c.getTrainingStatistics({ project: PROJECT });
    assert.deepEqual(stopping.map((s) => [s.version, s.previousVersion, s.comparedImages, s.changedImages]), [[1, 0, 0, 0], [2, 1, 12, 2]],
      'cat-2 and far-1 changed among the 12 unannotated images (dog-0 is annotated)');
    assert.equal(stopping[1]!.changedFraction, 2 / 12);
    assert.ok(stopping.every((s) => s.hasHeldOutAccuracy));
    assert.ok(Math.abs(stopping[1]!.heldOutAccuracyDelta - 0.05) < 1e-9);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Config } from '../../libs/config/config.js';
import { isAideError } from '../../libs/errors.js';
import { AnnotationType, JobState, type ImagePredictions, type Prediction } from '../../libs/gen/aide/v1/common.js';
import { RankerServiceService, type RankRequest, type RankResponse } from '../../libs/gen/aide/v1/ranker.js';
import { payload } from '../../libs/blob/index.js';
import { createClient, type Client } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import type { RunningService } from '../../libs/service/runtime.js';
import { encodeEmbedding } from '../../libs/wire/embedding.js';
import { imagePredictionsPayloads, readImagePredictions } from '../../libs/wire/image-predictions-parts.js';
import { startRanker } from '../../services/ranker/main.js';

const config = Config.load({ text: '[Ranker]\nhost = 127.0.0.1\nport = 0\n[Security]\nplaintext = true\n', env: {} });

const base: Prediction = {
  id: '', imageId: '', modelStateId: 'state-1', labelClassId: 'a', confidence: 0, logits: [], priority: 0, geometry: undefined,
};

const floats = (values: number[]) => Buffer.from(new Float32Array(values).buffer);

const header = (rankerLibrary: string, rankerOptionsJson = '', predictionType = AnnotationType.ANNOTATION_TYPE_LABELS, numImages = 0): RankRequest =>
  ({ payload: { $case: 'header', value: { jobId: 'job-1', project: 'demo', rankerLibrary, rankerOptionsJson, predictionType, numImages, traceparent: '' } } });

const image = (imageId: string, predictions: Partial<Prediction>[]): RankRequest =>
  ({ payload: { $case: 'image', value: { imageId, predictions: predictions.map((p) => ({ ...base, imageId, ...p })), embedding: undefined, annotated: false } } });

async function collect(stream: AsyncIterable<RankResponse>) {
  const images: ImagePredictions[] = [];
  const progress: { done: number; total: number; state: number }[] = [];
  for await (const r of stream) {
    if (r.payload?.$case === 'image') images.push(r.payload.value);
    else if (r.payload?.$case === 'progress') progress.push(r.payload.value);
  }
  return { images, progress };
}

describe('ranker service over gRPC', () => {
  let service: RunningService & { address: string };
  let client: Client<typeof RankerServiceService>;

  before(async () => {
    service = await startRanker(config, createLogger('ranker-test', 'silent'), { batchImages: 2 });
    client = createClient(RankerServiceService, service.address);
  });
  after(async () => {
    client.close();
    await service.shutdown(1000);
  });

  it('lists the built-in rankers', async () => {
    const { rankers } = await client.listRankers({});
    const entropy = rankers.find((r) => r.key === 'builtin.entropy');
    assert.ok(entropy);
    assert.equal(entropy.predictionTypes.length, 4);
  });

  it('ranks every prediction type, in batches, with progress', async () => {
    const requests = [
      header('builtin.breaking_ties', '', AnnotationType.ANNOTATION_TYPE_UNSPECIFIED, 4),
      image('i1', [{ id: 'p1', logits: [0.7, 0.2, 0.1] }]),
      image('i2', [{ id: 'p2', confidence: 0.8, geometry: { $case: 'point', value: { x: 0.1, y: 0.2 } } }]),
      image('i3', [{ id: 'p3', logits: [0.5, 0.5], geometry: { $case: 'boundingBox', value: { x: 0.5, y: 0.5, width: 0.2, height: 0.1 } } }]),
      image('i4', [{
        id: 'p4', labelClassId: '',
        geometry: { $case: 'segmentation', value: {
          width: 2, height: 1, labelMap: Buffer.from([1, 1]), confidenceMap: floats([0.9, 0.5]), logitsMap: floats([0.9, 0.5, 0.1, 0.5]), numClasses: 2,
        } },
      }]),
    ];
    const { images, progress } = await collect(client.rank(requests));
    const priorities = images.flatMap((i) => i.predictions.map((p) => p.priority));
    [0.5, 0.4, 1, 0.6].forEach((expected, k) => assert.ok(Math.abs(priorities[k]! - expected) < 1e-6, `${k}: ${priorities[k]}`));
    const seg = images[3]!.predictions[0]!;
    assert.equal(seg.geometry?.$case, 'segmentation');
    assert.equal(seg.modelStateId, 'state-1', 'what plugins do not see survives the round trip');
    assert.deepEqual(images[1]!.predictions[0]!.geometry, { $case: 'point', value: { x: 0.1, y: 0.2 } });
    assert.deepEqual(progress.map((p) => [p.done, p.total]), [[2, 4], [4, 4], [4, 4]], 'one event per batch of 2, then the final one');
  });

  it('ranks a segmentation too large for a message: it comes in chunks and goes back in chunks, maps intact', async () => {
    // 1000×1000 pixels, the top half at 0.9, the bottom at 0.5: 5 MB encoded, ranked like its 2-pixel miniature.
    const [width, height] = [1000, 1000];
    const confidence = new Float32Array(width * height).fill(0.9, 0, width * height / 2).fill(0.5, width * height / 2);
    const seg = (w: number, h: number, conf: Float32Array): Partial<Prediction> => ({
      labelClassId: '', geometry: { $case: 'segmentation', value: { width: w, height: h, labelMap: Buffer.alloc(w * h, 1), confidenceMap: Buffer.from(conf.buffer), logitsMap: Buffer.alloc(0), numClasses: 0 } },
    });
    const big: ImagePredictions = { imageId: 'big', predictions: [{ ...base, imageId: 'big', id: 'p-big', ...seg(width, height, confidence) }], embedding: undefined, annotated: false };
    async function* requests(): AsyncGenerator<RankRequest> {
      yield header('builtin.least_confidence', '', AnnotationType.ANNOTATION_TYPE_SEGMENTATION_MASKS, 2);
      for await (const part of imagePredictionsPayloads(big, 'image', 'imageChunk')) yield { payload: part };
      yield image('mini', [{ id: 'p-mini', ...seg(2, 1, new Float32Array([0.9, 0.5])) }]);
    }
    const chunksBack: number[] = [];
    const images: ImagePredictions[] = [];
    async function* responses() {
      for await (const r of client.rank(requests())) {
        if (r.payload?.$case === 'imageChunk') chunksBack.push(r.payload.value.offset);
        yield r;
      }
    }
    for await (const part of readImagePredictions(responses(), { whole: payload('image'), chunk: payload('imageChunk') }, { close: true })) {
      if ('image' in part) images.push(part.image);
    }
    assert.deepEqual(images.map((i) => i.imageId), ['big', 'mini']);
    assert.equal(chunksBack.length, 2, 'the big image went back in two chunks');
    const [bigBack, mini] = images.map((i) => i.predictions[0]!);
    assert.ok(bigBack!.priority > 0);
    assert.ok(Math.abs(bigBack!.priority - mini!.priority) < 1e-6, `${bigBack!.priority} vs ${mini!.priority}`);
    const geometry = bigBack!.geometry;
    assert.ok(geometry?.$case === 'segmentation');
    assert.ok(Buffer.from(geometry.value.confidenceMap).equals(Buffer.from(confidence.buffer)));
    assert.equal(geometry.value.labelMap.length, width * height);
  });

  it('uses the options: seeded random is reproducible', async () => {
    const run = async () => (await collect(client.rank([header('builtin.random', '{"options":{"seed":3}}'), image('i1', [{ confidence: 0.5 }, { confidence: 0.5 }])])))
      .images[0]!.predictions.map((p) => p.priority);
    assert.deepEqual(await run(), await run());
  });

  it('unknown ranker → NOT_FOUND', async () => {
    await assert.rejects(collect(client.rank([header('builtin.nope'), image('i1', [])])), (e: unknown) => isAideError(e, 'NOT_FOUND'));
  });

  it('bad options → INVALID_ARGUMENT with the verify errors', async () => {
    await assert.rejects(collect(client.rank([header('builtin.random', '{"options":{"seed":"abc"}}'), image('i1', [])])), (e: unknown) => {
      assert.ok(isAideError(e, 'INVALID_ARGUMENT'));
      assert.match(e.fieldViolations[0]!.description, /seed must be an integer/);
      assert.equal(e.fieldViolations[0]!.field, 'header.ranker_options_json');
      return true;
    });
    await assert.rejects(collect(client.rank([header('builtin.random', '{nope'), image('i1', [])])), (e: unknown) => isAideError(e, 'INVALID_ARGUMENT'));
  });

  it('malformed segmentation maps and a missing header → INVALID_ARGUMENT', async () => {
    const bad = image('i1', [{ geometry: { $case: 'segmentation', value: { width: 2, height: 2, labelMap: Buffer.from([1]), confidenceMap: floats([1]), logitsMap: Buffer.alloc(0), numClasses: 0 } } }]);
    await assert.rejects(collect(client.rank([header('builtin.entropy'), bad])), (e: unknown) => isAideError(e, 'INVALID_ARGUMENT') && /label_map/.test(e.message));
    await assert.rejects(collect(client.rank([image('i1', [])])), (e: unknown) => isAideError(e, 'INVALID_ARGUMENT'));
  });
  describe('a batch ranker (builtin.coreset): the pool streamed in, the joint selection out', () => {
    const poolHeader = (numImages: number) => header('builtin.coreset', '{"options":{"batch_size":2}}', AnnotationType.ANNOTATION_TYPE_LABELS, numImages);
    const candidate = (imageId: string, embedding: number[] | undefined, annotated = false): RankRequest => {
      const r = image(imageId, [{ id: `p-${imageId}`, logits: [0.9, 0.1] }]);
      if (r.payload?.$case === 'image') Object.assign(r.payload.value, { embedding: embedding ? encodeEmbedding(embedding) : undefined, annotated });
      return r;
    };

    it('priorities by selection order, the rest below, annotated at 0, prediction ids kept, progress monotone', async () => {
      // Annotated a at 0; candidates on a line: e is farthest (8), then c (4 from a and e) before b and d (2 away).
      const { images, progress } = await collect(client.rank([
        poolHeader(5), candidate('a', [0, 0], true), candidate('b', [2, 0]), candidate('c', [4, 0]), candidate('d', [6, 0]), candidate('e', [8, 0]),
      ]));
      const priority = Object.fromEntries(images.map((i) => [i.imageId, i.predictions[0]!.priority]));
      assert.deepEqual(images.map((i) => i.imageId), ['a', 'b', 'c', 'd', 'e'], 'every image back, in order');
      // After e and c, b and d are both 2 from a centre, the largest remaining distance: 0.5 × 1.
      assert.deepEqual(priority, { e: 1, c: 0.75, b: 0.5, d: 0.5, a: 0 });
      assert.deepEqual(images.map((i) => i.predictions.map((p) => [p.id, p.modelStateId])), ['a', 'b', 'c', 'd', 'e'].map((id) => [[`p-${id}`, 'state-1']]));
      const fractions = progress.map((p) => p.done / p.total);
      assert.deepEqual(fractions, [...fractions].sort((x, y) => x - y), 'progress never goes back');
      assert.equal(progress.at(-1)!.state, JobState.JOB_STATE_SUCCEEDED);
      assert.equal(fractions.at(-1), 1);
    });

    it('refuses a pool without embeddings (naming the image) and an embedding whose bytes do not hold its dim values', async () => {
      await assert.rejects(collect(client.rank([poolHeader(2), candidate('a', [0, 0]), candidate('b', undefined)])),
        (e: unknown) => isAideError(e) && /image b has none/.test(e.message));
      const bad = candidate('a', [0, 0]);
      if (bad.payload?.$case === 'image') bad.payload.value.embedding = { dim: 3, float16: Buffer.alloc(4) };
      await assert.rejects(collect(client.rank([poolHeader(1), bad])), (e: unknown) => isAideError(e, 'INVALID_ARGUMENT') && /embedding\.float16/.test(e.message));
    });
  });
});

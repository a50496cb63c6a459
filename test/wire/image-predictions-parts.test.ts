import assert from 'node:assert/strict';
import { test } from 'node:test';
import { payload } from '../../libs/blob/index.js';
import { isAideError } from '../../libs/errors.js';
import { ImagePredictions, ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import { InferenceResponse } from '../../libs/gen/aide/v1/worker.js';
import { MAX_MESSAGE_BYTES } from '../../libs/grpc/limits.js';
import { imagePredictionsPayloads, readImagePredictions } from '../../libs/wire/image-predictions-parts.js';
import { predictionToProto } from '../../libs/wire/predictions.js';
import { fixtureSegmentation } from '../support/fixture-model.js';

const segmentation = (imageId: string, width: number, height: number): ImagePredictions => ({
  imageId, predictions: [predictionToProto(fixtureSegmentation(width, height), { imageId, modelStateId: 's' })], embedding: undefined, annotated: false,
});
const small = (imageId: string): ImagePredictions => ({
  imageId,
  predictions: [{ id: `${imageId}-p`, imageId, modelStateId: 's', labelClassId: 'c', confidence: 0.5, logits: [], priority: 0, geometry: { $case: 'point', value: { x: 0.5, y: 0.5 } } }],
  embedding: undefined,
  annotated: false,
});
const progress = (seq: number): InferenceResponse => ({ payload: { $case: 'progress', value: ProgressEvent.fromPartial({ seq, message: `p${seq}` }) } });

async function responsesOf(images: ImagePredictions[]): Promise<InferenceResponse[]> {
  const out: InferenceResponse[] = [progress(1)];
  for (const image of images) {
    for await (const part of imagePredictionsPayloads(image, 'predictions', 'predictionsChunk')) out.push({ payload: part });
  }
  out.push(progress(2));
  return out;
}

const select = { whole: payload('predictions'), chunk: payload('predictionsChunk') };

async function read(messages: Iterable<InferenceResponse> | AsyncIterable<InferenceResponse>) {
  const source = (async function* () { yield* messages; })();
  const got: (ImagePredictions | number)[] = [];
  for await (const part of readImagePredictions(source, select)) {
    got.push('image' in part ? part.image : (part.message.payload as { value: ProgressEvent }).value.seq);
  }
  return got;
}

test('images too large for a message travel as chunks of their encoding, each message within the limit, and read back exactly', async () => {
  // 650×650 pixels × (1 + 4 + 2·4) bytes ≈ 5.5 MB, and 900×850 ≈ 9.9 MB: 2 and 3 chunks.
  const images = [small('a'), segmentation('b', 650, 650), small('c'), segmentation('d', 900, 850)];
  const messages = await responsesOf(images);
  const cases = messages.map((m) => m.payload?.$case);
  assert.deepEqual(cases, ['progress', 'predictions', 'predictionsChunk', 'predictionsChunk', 'predictions',
    'predictionsChunk', 'predictionsChunk', 'predictionsChunk', 'progress']);
  for (const m of messages) assert.ok(InferenceResponse.encode(m).finish().length <= MAX_MESSAGE_BYTES);
  const got = await read(messages);
  assert.equal(got.length, 6);
  assert.deepEqual(got[0], 1);
  assert.deepEqual(got[5], 2);
  got.slice(1, 5).forEach((image, i) => {
    assert.deepEqual(Buffer.from(ImagePredictions.encode(image as ImagePredictions).finish()), Buffer.from(ImagePredictions.encode(images[i]!).finish()), `image ${i}`);
  });
});

test('a broken run of chunks is DATA_LOSS: a flipped byte, a missing chunk, a stream that ends early; an oversized one RESOURCE_EXHAUSTED', async () => {
  const messages = await responsesOf([segmentation('b', 650, 650)]);
  const chunkAt = (m: InferenceResponse) => (m.payload?.$case === 'predictionsChunk' ? m.payload.value : undefined);
  const flipped = messages.map((m) => {
    const chunk = chunkAt(m);
    if (!chunk || chunk.offset !== 0) return m;
    const data = Buffer.from(chunk.data);
    data[1000] ^= 1;
    return { payload: { $case: 'predictionsChunk' as const, value: { ...chunk, data } } };
  });
  const lossy = (e: unknown) => isAideError(e, 'DATA_LOSS');
  await assert.rejects(read(flipped), lossy, 'flipped byte');
  await assert.rejects(read(messages.filter((m) => chunkAt(m)?.offset !== 0)), lossy, 'first chunk missing');
  await assert.rejects(read(messages.filter((m) => !chunkAt(m)?.sha256.length)), lossy, 'last chunk missing, progress follows');
  await assert.rejects(read(messages.slice(0, 2)), lossy, 'the stream ends mid-image');
  const huge = { payload: { $case: 'predictionsChunk' as const, value: { offset: 0, totalSize: 2 * 1024 ** 3, data: Buffer.alloc(10), sha256: Buffer.alloc(0) } } };
  await assert.rejects(read([huge]), (e: unknown) => isAideError(e, 'RESOURCE_EXHAUSTED'));
});

test('the stream is closed when reading stops early only if asked to (a client call), never otherwise (a server call)', async () => {
  const messages = await responsesOf([small('a'), small('b')]);
  for (const close of [true, false]) {
    let closed = false;
    const source = (async function* () {
      try {
        yield* messages;
      } finally {
        closed = true;
      }
    })();
    for await (const part of readImagePredictions(source, select, { close })) if ('image' in part) break;
    assert.equal(closed, close, `close: ${close}`);
  }
});

/** Network outputs (Network.predict) of images through the replica pool, batch by batch (pipelined): one array per image. */
import { makeBatch } from './batch.js';
import type { ReplicaPool } from './replica-pool.js';

export async function predictImages(
  pool: ReplicaPool,
  params: Float32Array[],
  images: readonly Uint8Array[],
  size: number,
  batchSize: number,
  signal?: AbortSignal,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  function* batches() {
    for (let i = 0; i < images.length; i += batchSize) {
      signal?.throwIfAborted();
      yield makeBatch(images.slice(i, i + batchSize), size);
    }
  }
  for await (const outputs of pool.predictAll(params, batches())) {
    const count = Math.min(batchSize, images.length - out.length);
    const perImage = outputs.length / count;
    for (let k = 0; k < count; k++) out.push(outputs.slice(k * perImage, (k + 1) * perImage));
  }
  return out;
}

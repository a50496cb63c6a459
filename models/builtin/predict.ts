/** Network outputs (Network.predict) of images through the replica pool, batch by batch: one array per image. */
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
  for (let i = 0; i < images.length; i += batchSize) {
    signal?.throwIfAborted();
    const batch = makeBatch(images.slice(i, i + batchSize), size);
    const outputs = await pool.predict(params, batch);
    const perImage = outputs.length / batch.count;
    for (let k = 0; k < batch.count; k++) out.push(outputs.slice(k * perImage, (k + 1) * perImage));
  }
  return out;
}

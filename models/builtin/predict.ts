/** Network outputs (Network.predict) of images through the replica pool, batch by batch: one array per image. */
import type { FileSource } from '../../libs/plugin/context.js';
import { makeBatch } from './batch.js';
import { loadSizedImages, type SizedImage } from './image-loader.js';
import type { ReplicaPool } from './replica-pool.js';

/** Images loaded and predicted at a time during inference (bounds memory). */
const FILE_CHUNK = 256;

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

/** An image of predictFiles: its output, or none where the file was missing or unreadable. */
export interface FilePrediction {
  id: string;
  image: SizedImage | null;
  output?: Float32Array;
}

/** Outputs for image files (id → filename), read and predicted a chunk at a time; yields each chunk, in order. */
export async function* predictFiles(
  pool: ReplicaPool,
  params: Float32Array[],
  files: FileSource,
  entries: readonly (readonly [id: string, filename: string])[],
  size: number,
  batchSize: number,
  signal?: AbortSignal,
): AsyncGenerator<FilePrediction[]> {
  for (let start = 0; start < entries.length; start += FILE_CHUNK) {
    const chunk = entries.slice(start, start + FILE_CHUNK);
    const images = await loadSizedImages(files, chunk.map(([, filename]) => filename), size, signal);
    const readable = images.flatMap((image) => (image ? [image.pixels] : []));
    const outputs = await predictImages(pool, params, readable, size, batchSize, signal);
    let next = 0;
    yield chunk.map(([id], i) => {
      const image = images[i] ?? null;
      return { id, image, ...(image ? { output: outputs[next++]! } : {}) };
    });
  }
}

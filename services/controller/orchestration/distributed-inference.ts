import type { ImagePredictions, ProgressEvent } from '../../../libs/gen/aide/v1/common.js';
import type { ImageData } from '../../../libs/gen/aide/v1/worker.js';
import { modelStateBytes } from '../../../libs/telemetry/metrics.js';
import { inSpan } from '../../../libs/telemetry/tracer.js';
import { stateSize } from '../../../libs/worker-client/requests.js';
import { infer, type StateInput } from '../../../libs/worker-client/worker-client.js';
import { onWorker, type DispatchOptions } from './dispatch.js';
import type { JobHeaderBase } from './distributed-train.js';
import { shard } from './shards.js';

/**
 * Inference split across K workers; each image's predictions are handed to
 * `store` as they arrive (idempotent per image, so a shard retried on another
 * worker overwrites, never duplicates).
 */
export async function inferDistributed(opts: {
  dispatch: Omit<DispatchOptions, 'what'>;
  header: JobHeaderBase;
  images: readonly ImageData[];
  state: StateInput | null;
  numWorkers: number;
  store: (predictions: ImagePredictions) => Promise<void>;
  onProgress?: (part: number, parts: number, event: ProgressEvent) => void;
}): Promise<number> {
  const shards = shard(opts.images, opts.numWorkers);
  const counts = await Promise.all(shards.map((images, i) => inSpan('inference shard', { attributes: { 'aide.shard': i, 'aide.images': images.length } }, () =>
    onWorker({ ...opts.dispatch, what: `inference shard ${i + 1}/${shards.length}` }, async (lease) => {
      modelStateBytes.inc({ direction: 'to_worker', phase: 'inference' }, stateSize(opts.state));
      let n = 0;
      for await (const p of infer(lease.client, { ...opts.header, jobId: `${opts.header.jobId}-s${i}` }, images, opts.state, {
        signal: opts.dispatch.signal, onProgress: (e) => opts.onProgress?.(i, shards.length, e),
      })) {
        await opts.store(p);
        n++;
      }
      return n;
    }))));
  return counts.reduce((a, b) => a + b, 0);
}

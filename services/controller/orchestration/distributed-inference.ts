import type { ImagePredictions, ProgressEvent } from '../../../libs/gen/aide/v1/common.js';
import type { UnreadableImage } from '../../../libs/gen/aide/v1/worker.js';
import { modelStateBytes } from '../../../libs/telemetry/metrics.js';
import { inSpan } from '../../../libs/telemetry/tracer.js';
import { imageCount, stateSize, type ImagesInput } from '../../../libs/worker-client/requests.js';
import { infer, type StateInput } from '../../../libs/worker-client/worker-client.js';
import { onWorker, sharedFolder, type DispatchOptions } from './dispatch.js';
import type { JobHeaderBase } from '../../../libs/worker-client/worker-client.js';

/** Images' predictions stored per statement at most, and their maps' bytes: batches bound memory and round trips. */
const BATCH_IMAGES = 1000;
const BATCH_BYTES = 16 * 1024 ** 2;

/** The bytes a batch holds for an image: its segmentation maps, the rest is small. */
const mapBytes = (p: ImagePredictions): number => p.predictions.reduce((n, x) => {
  const g = x.geometry;
  return n + 64 + (g?.$case === 'segmentation' ? g.value.labelMap.length + g.value.confidenceMap.length + g.value.logitsMap.length : 0);
}, 0);

export interface InferenceOutcome {
  /** Images predicted (readable ones; each stored). */
  predicted: number;
  /** Images the model could not read, and why. */
  unreadable: UnreadableImage[];
}

/**
 * Inference split across workers, a shard each (a shard's images are read
 * afresh for each attempt: a page at a time when streamed); the predictions are handed to `store` in
 * batches as they arrive (idempotent per image, so a shard retried on another
 * worker overwrites, never duplicates). A shard that fails on every worker it
 * is tried on fails the whole run.
 */
export async function inferDistributed(opts: {
  dispatch: Omit<DispatchOptions, 'what'>;
  header: JobHeaderBase;
  shards: readonly ImagesInput[];
  state: StateInput | null;
  store: (batch: ImagePredictions[]) => Promise<void>;
  onProgress?: (part: number, parts: number, event: ProgressEvent) => void;
}): Promise<InferenceOutcome> {
  const { shards } = opts;
  // A shard that fails ends the run: the others stop too, and the run ends with the first failure only once
  // they have, so nothing is stored after the caller has cleaned up.
  const failed = new AbortController();
  let firstFailure: { err: unknown } | undefined;
  const signal = AbortSignal.any([opts.dispatch.signal, failed.signal]);
  const settled = await Promise.allSettled(shards.map((images, i) => inSpan('inference shard', { attributes: { 'aide.shard': i, 'aide.images': imageCount(images) } }, () =>
    onWorker({ ...opts.dispatch, signal, what: `inference shard ${i + 1}/${shards.length}` }, async (lease): Promise<InferenceOutcome> => {
      modelStateBytes.inc({ direction: 'to_worker', phase: 'inference' }, stateSize(opts.state));
      // Per attempt: a retried shard reports its images afresh.
      const outcome: InferenceOutcome = { predicted: 0, unreadable: [] };
      let batch: ImagePredictions[] = [];
      let bytes = 0;
      const flush = async () => {
        if (batch.length > 0) await opts.store(batch);
        batch = [];
        bytes = 0;
      };
      for await (const p of infer(lease.client, { ...opts.header, jobId: `${opts.header.jobId}-s${i}` }, images, opts.state, {
        signal,
        sharedFolder: sharedFolder(lease, opts.dispatch),
        onProgress: (e) => opts.onProgress?.(i, shards.length, e),
        onUnreadable: (u) => outcome.unreadable.push(u),
      })) {
        batch.push(p);
        bytes += mapBytes(p);
        outcome.predicted++;
        if (batch.length >= BATCH_IMAGES || bytes >= BATCH_BYTES) await flush();
      }
      await flush();
      return outcome;
    }).catch((err: unknown) => {
      firstFailure ??= { err };
      failed.abort(err);
      throw err;
    }))));
  if (firstFailure) throw firstFailure.err;
  const outcomes = settled.map((r) => (r as PromiseFulfilledResult<InferenceOutcome>).value);
  return { predicted: outcomes.reduce((n, o) => n + o.predicted, 0), unreadable: outcomes.flatMap((o) => o.unreadable) };
}

import { pMapIterable } from 'p-map';
import type pg from 'pg';
import { payload } from '../../../libs/blob/index.js';
import { failedPrecondition } from '../../../libs/errors.js';
import type { ProgressEvent } from '../../../libs/gen/aide/v1/common.js';
import type { RankHeader, RankRequest, RankResponse } from '../../../libs/gen/aide/v1/ranker.js';
import { offersRankColumns } from '../../../libs/plugin/plugin.js';
import type { ProgressReporter } from '../../../libs/progress/reporter.js';
import { readImagePredictions } from '../../../libs/wire/image-predictions-parts.js';
import { annotationTypeToProto } from '../../../libs/wire/plugin-info.js';
import { uuidsToBytes } from '../../../libs/wire/uuid-bytes.js';
import { storedPredictionPayloads } from '../prediction-payloads.js';
import { type Db, inTransaction } from '../store/db.js';
import { countPredictedImages, countPredictions, refreshPredictionStatistics, scoreColumnsOfState, setPriorities } from '../store/predictions.js';
import { getProject } from '../store/projects.js';
import type { JobRun, Orchestra } from './context.js';
import { jobState } from './job-state.js';

/** Priorities written per UPDATE on the image-by-image path (the columns path writes one per Ranker message). */
const PRIORITIES_PER_UPDATE = 5000;

/** What a ranking pass did, for the job's message. */
interface Ranked {
  predictions: number;
  images?: number;
}

/** The Ranker's Rank call (the orchestra's client; bench/controller/predictions-bulk.ts calls one in-process). */
export type RankCall = (requests: AsyncIterable<RankRequest>, opts: { signal: AbortSignal }) => AsyncIterable<RankResponse>;

/**
 * Where a ranking pass reads and writes: the job's Ranker call, the transaction its priorities go into
 * (`client`), and where it reads the state's predictions (`reader`, see readerBeside).
 */
export interface RankPass {
  rank: RankCall;
  signal: AbortSignal;
  progress: Pick<ProgressReporter, 'updateState'>;
  project: string;
  stateId: string;
  header: Omit<RankHeader, 'numImages' | 'columns'>;
  client: pg.PoolClient;
  reader: Db;
}

/**
 * Where a pass reads: the pool, where it has a connection to spare beside the
 * transaction's, so that Postgres reads the next pages on one backend while
 * it writes priorities on the other (a ranking's reads need none of its
 * writes: they read ids, confidences and logits); else the transaction's own
 * connection (the embedded database, PGlite, has one: a read from the pool
 * while the transaction holds it would wait for ever).
 */
function readerBeside(pool: pg.Pool, client: pg.PoolClient): Db {
  return (pool.options.max ?? 1) > 1 ? pool : client;
}

function reportProgress(progress: RankPass['progress'], part: RankResponse): void {
  if (part.payload?.$case !== 'progress') return;
  const e: ProgressEvent = part.payload.value;
  progress.updateState('PROGRESS', `ranking: ${e.message}`, e.done, e.total);
}

/** Pages of columns read ahead of the one the Ranker is given: the next is read while the current one is ranked and written. */
const PAGES_AHEAD = 1;

/**
 * Ranking in bulk, for a ranker that scores each prediction from its
 * confidence and logits alone (its rankColumns): the state's predictions go
 * to the Ranker as columns a page at a time (a keyset scan), and each page's
 * priorities come back and are written with one UPDATE each, while the next
 * page is read. Memory holds a few pages.
 */
export async function rankByColumns({ rank, signal, progress, stateId, header, client, reader }: RankPass): Promise<Ranked> {
  const total = await countPredictions(reader, stateId);
  async function* requests(): AsyncGenerator<RankRequest> {
    yield { payload: { $case: 'header', value: { ...header, numImages: total, columns: true } } };
    // backpressure counts the pages read and not yet taken: the one being sent is taken.
    const pages = pMapIterable(scoreColumnsOfState(reader, stateId), (page) => page, { concurrency: 1, backpressure: PAGES_AHEAD });
    for await (const page of pages) yield { payload: { $case: 'columns', value: page } };
  }
  let predictions = 0;
  for await (const part of rank(requests(), { signal })) {
    if (part.payload?.$case === 'priorities') {
      const { ids, priority } = part.payload.value;
      predictions += await setPriorities(client, stateId, ids, priority);
    } else reportProgress(progress, part);
  }
  return { predictions };
}

/**
 * Ranking image by image, for any ranker: the state's predictions stream to
 * the Ranker image by image from the database, and the priorities that come
 * back are written a few thousand per UPDATE as they arrive.
 */
async function rankByImages({ rank, signal, progress, project, stateId, header, client, reader }: RankPass): Promise<Ranked> {
  const numImages = await countPredictedImages(reader, project, stateId);
  async function* requests(): AsyncGenerator<RankRequest> {
    yield { payload: { $case: 'header', value: { ...header, numImages, columns: false } } };
    for await (const batch of storedPredictionPayloads(reader, stateId)) for (const part of batch) yield { payload: part };
  }
  const ranked: Ranked = { predictions: 0, images: 0 };
  let ids: string[] = [];
  let priorities: number[] = [];
  const flush = async () => {
    if (ids.length > 0) await setPriorities(client, stateId, uuidsToBytes(ids), priorities);
    ids = [];
    priorities = [];
  };
  const responses = rank(requests(), { signal });
  for await (const part of readImagePredictions(responses, { whole: payload('image'), chunk: payload('imageChunk') }, { signal, close: true })) {
    if ('image' in part) {
      ranked.images!++;
      for (const p of part.image.predictions) {
        ids.push(p.id);
        priorities.push(p.priority);
      }
      ranked.predictions += part.image.predictions.length;
      if (ids.length >= PRIORITIES_PER_UPDATE) await flush();
    } else reportProgress(progress, part.message);
  }
  await flush();
  return ranked;
}

/** Whether the project's ranker can rank its predictions by columns (not segmentation maps; a ranker with rankColumns). */
function ranksByColumns(orchestra: Orchestra, run: JobRun): boolean {
  if (run.project.predictionType === 'segmentationMasks') return false;
  try {
    return offersRankColumns(orchestra.registry.getRanker(run.project.settings.rankerLibrary).ctor);
  } catch {
    return false; // a ranker only the Ranker service knows: image by image
  }
}

/**
 * Ranking: the state's predictions through the Ranker service, by columns
 * where the ranker allows it, else image by image. The priorities are
 * written as they come back, inside the transaction that completes the job:
 * readers see the old priorities until the job succeeds, and a failed or
 * cancelled job leaves them as they were.
 */
export async function executeRank(orchestra: Orchestra, run: JobRun): Promise<void> {
  const { job, signal } = run;
  const project = await getProject(orchestra.db, job.project);
  if (!project.settings.rankerLibrary) throw failedPrecondition('the project has no ranker (settings.ranker_library)');
  const state = await jobState(orchestra.db, job);
  if (!state) throw failedPrecondition('the project has no model state whose predictions could be ranked');
  const header = {
    jobId: job.id, project: project.name, rankerLibrary: project.settings.rankerLibrary,
    rankerOptionsJson: project.settings.rankerOptionsJson, predictionType: annotationTypeToProto(project.predictionType), traceparent: '',
  };
  const pass = ranksByColumns(orchestra, { ...run, project }) ? rankByColumns : rankByImages;
  await inTransaction(orchestra.db, async (client) => {
    const ranked = await pass({
      rank: (requests, opts) => orchestra.ranker.rank(requests, opts), signal, progress: run.progress,
      project: project.name, stateId: state.id, header, client, reader: readerBeside(orchestra.db, client),
    });
    signal.throwIfAborted();
    const images = ranked.images === undefined ? '' : ` of ${ranked.images} images`;
    await run.succeed(client, `ranked ${ranked.predictions} predictions${images} with ${project.settings.rankerLibrary}`);
  });
  await refreshPredictionStatistics(orchestra.db, 'priorities').catch((err: unknown) => orchestra.logger.warn({ err }, 'ANALYZE predictions after ranking failed'));
}

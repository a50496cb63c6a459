import { randomUUID } from 'node:crypto';
import { failedPrecondition } from '../../../libs/errors.js';
import { inTransaction } from '../store/db.js';
import {
  chooseInferenceImages, discardInferenceImages, forgetInferenceImages, inferenceGoldenImages, inferenceImagePages, inferenceImagePaths, recordInferenceReads,
} from '../store/inference-images.js';
import { commitStagedPredictions, discardStagedPredictions, refreshPredictionStatistics, stagePredictions } from '../store/predictions.js';
import { getProject } from '../store/projects.js';
import { commitStagedEmbeddings, discardStagedEmbeddings, stageEmbeddings } from '../store/embeddings.js';
import type { JobOptions } from '../ports.js';
import { imagePredictionsFromProto } from '../wire/prediction.js';
import type { JobRun, Orchestra } from './context.js';
import { inferDistributed } from './distributed-inference.js';
import { scoreGoldenQuestions } from './golden-evaluation.js';
import { jobHeader } from './job-header.js';
import { jobState } from './job-state.js';
import { partsProgress } from './job-progress.js';
import { storedState } from './round-store.js';
import { unreadableSummary } from './unreadable-report.js';

/**
 * Inference: the chosen images (default: those without annotations; all with include_annotated) split
 * across workers — chosen in the database and read back a page per shard, so the controller's memory
 * does not grow with the project — the state streamed to each from the state folder. Predictions
 * are staged as they arrive (a retried shard replaces its images' staged
 * ones) and replace the state's earlier predictions of these images in the
 * transaction that completes the job: readers see the old set until then,
 * and a failed run leaves it as it was. Images the model could not read are
 * named in the job's message and marked on the images. The images' embeddings
 * (store/embeddings.ts) are staged and replaced alike. The golden questions
 * among the images score the state, in the same transaction.
 */
export async function executeInference(orchestra: Orchestra, run: JobRun): Promise<void> {
  const { job, signal } = run;
  const { db } = orchestra;
  const project = await getProject(db, job.project);
  const options = job.options as JobOptions;
  const state = await jobState(db, job);
  if (!state) throw failedPrecondition('the project has no model state to predict with: train first');
  const { header } = await jobHeader(db, { ...project, settings: { ...project.settings, modelLibrary: state.modelLibrary } }, job.id);
  const report = partsProgress((done, total, message) => run.progress.updateState('PROGRESS', message, done, total));
  const staging = { jobId: job.id, runId: randomUUID() };
  try {
    // The images are chosen in the database and read back a page at a time per shard: never a list of them all here.
    const counts = await chooseInferenceImages(db, project.name, staging, {
      imageIds: options.image_ids, goldenOnly: options.golden_questions_only, includeAnnotated: options.include_annotated,
    }, options.num_workers || project.settings.autoTrain.numWorkers || 1);
    const { predicted, unreadable } = await inferDistributed({
      dispatch: {
        pool: orchestra.workers, library: state.modelLibrary, maxAttempts: orchestra.maxAttempts, signal, logger: orchestra.logger,
        onWait: (why) => run.progress.updateState('WAITING', why), stateFolder: orchestra.states.blobs,
      },
      header, shards: counts.map((count, shard) => ({ count, pages: () => inferenceImagePages(db, staging.runId, shard) })), state: storedState(orchestra.states, state),
      store: async (batch) => {
        const images = batch.map(imagePredictionsFromProto);
        await inTransaction(db, async (client) => {
          await stagePredictions(client, staging, state.id, images);
          await stageEmbeddings(client, staging, state.id, images.map((i) => i.imageId), images.flatMap((i) => (i.embedding ? [{ imageId: i.imageId, embedding: i.embedding }] : [])));
        });
      },
      // Every event counts, the shard's final one too: it carries done == total even when the throttle swallowed the last report.
      onProgress: (part, parts, e) => report(part, `shard ${part + 1}/${parts}`, e),
    });
    signal.throwIfAborted();
    const paths = await inferenceImagePaths(db, staging.runId, unreadable.map((u) => u.imageId));
    await inTransaction(db, async (client) => {
      await commitStagedPredictions(client, staging, state.id);
      await commitStagedEmbeddings(client, staging, state.id);
      await recordInferenceReads(client, project.name, staging.runId, unreadable);
      const golden = await scoreGoldenQuestions(client, project.name, state.id, project.predictionType, await inferenceGoldenImages(client, staging.runId));
      await forgetInferenceImages(client, job.id);
      await run.succeed(client, `predicted ${predicted} images with state v${state.version}${golden > 0 ? `; scored ${golden} golden question(s)` : ''}${unreadableSummary(unreadable, paths)}`);
    });
  } finally {
    // Committed: nothing is left; failed or cancelled: the staged rows go, the old predictions stay.
    await discardStagedPredictions(db, staging);
    await discardStagedEmbeddings(db, staging);
    await discardInferenceImages(db, staging.runId);
  }
  await refreshPredictionStatistics(db).catch((err: unknown) => orchestra.logger.warn({ err }, 'ANALYZE predictions after inference failed'));
}

import { failedPrecondition } from '../../../libs/errors.js';
import { inTransaction } from '../store/db.js';
import { inferenceImages } from '../store/images.js';
import { currentState, getState } from '../store/model-states.js';
import { insertPredictions } from '../store/predictions.js';
import { getProject } from '../store/projects.js';
import { imagePredictionsFromProto } from '../wire/prediction.js';
import type { JobRun, Orchestra } from './context.js';
import { inferDistributed } from './distributed-inference.js';
import { jobHeader, stateBytes, toImageData } from './job-header.js';
import { partsProgress } from './job-progress.js';

/**
 * Inference: the chosen images (default: those without annotations) split
 * across workers; each image's predictions are stored against the state as
 * they arrive (replacing that image's earlier ones, so a retry never duplicates).
 */
export async function executeInference(orchestra: Orchestra, run: JobRun): Promise<void> {
  const { job, signal } = run;
  const project = await getProject(orchestra.db, job.project);
  const options = job.options as { num_workers?: number; image_ids?: string[]; golden_questions_only?: boolean; state_id?: string };
  const state = options.state_id ? await getState(orchestra.db, project.name, options.state_id) : await currentState(orchestra.db, project.name);
  if (!state) throw failedPrecondition('the project has no model state to predict with: train first');
  const { header } = await jobHeader(orchestra.db, { ...project, settings: { ...project.settings, modelLibrary: state.modelLibrary } }, job.id);
  const images = await inferenceImages(orchestra.db, project.name, { imageIds: options.image_ids, goldenOnly: options.golden_questions_only });
  const bytes = await stateBytes(orchestra.db, project.name, state.id);
  const report = partsProgress((done, total, message) => run.progress.updateState('PROGRESS', message, done, total));
  const count = await inferDistributed({
    dispatch: { pool: orchestra.workers, library: state.modelLibrary, maxAttempts: orchestra.maxAttempts, signal, logger: orchestra.logger, onWait: (why) => run.progress.updateState('WAITING', why) },
    header, images: toImageData(images), state: bytes, numWorkers: options.num_workers || project.settings.autoTrain.numWorkers || 1,
    store: async (p) => { await insertPredictions(orchestra.db, project.name, state.id, [imagePredictionsFromProto(p)]); },
    // Every event counts, the shard's final one too: it carries done == total even when the throttle swallowed the last report.
    onProgress: (part, parts, e) => report(part, parts, 'shard', e),
  });
  signal.throwIfAborted();
  await inTransaction(orchestra.db, (client) => run.succeed(client, `predicted ${count} images with state v${state.version}`));
}

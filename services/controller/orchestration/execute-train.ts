import { failedPrecondition } from '../../../libs/errors.js';
import { getProject, resetAnnotationsSinceTraining } from '../store/projects.js';
import { currentState, insertState, setCurrentState } from '../store/model-states.js';
import { trainingImages } from '../store/images.js';
import { inTransaction } from '../store/db.js';
import { inSpan } from '../../../libs/telemetry/tracer.js';
import type { LabelClass, ModelStateInfo } from '../domain.js';
import type { JobRun, Orchestra } from './context.js';
import { trainDistributed } from './distributed-train.js';
import { jobHeader, stateBytes, toImageData } from './job-header.js';
import { partsProgress } from './job-progress.js';

/** Label classes changed since the state was trained: fine if the model can follow, else a clear refusal. */
function checkClassChanges(orchestra: Orchestra, library: string, state: ModelStateInfo | null, classes: readonly LabelClass[]): void {
  if (!state || state.modelLibrary !== library) return;
  const meta = orchestra.registry.getModel(library).meta;
  const now = new Set(classes.map((c) => c.id));
  const before = new Set(Object.keys(state.labelClassMap));
  const added = [...now].filter((c) => !before.has(c));
  const removed = [...before].filter((c) => !now.has(c));
  if (added.length > 0 && !meta.canAddLabelClasses) {
    throw failedPrecondition(`model ${library} cannot add label classes, and ${added.length} were added since state v${state.version}; train from scratch or choose another model`);
  }
  if (removed.length > 0 && !meta.canRemoveLabelClasses) {
    throw failedPrecondition(`model ${library} cannot remove label classes, and ${removed.length} were removed since state v${state.version}`);
  }
}

/**
 * Training: the project's training images on num_workers workers at once
 * (disjoint shards, same input state), averaged on one worker, for
 * num_epochs rounds; the result is stored as the next version — together
 * with the job's completion, so a restarted job never stores twice.
 */
export async function executeTrain(orchestra: Orchestra, run: JobRun): Promise<void> {
  const { job, signal } = run;
  const project = await getProject(orchestra.db, job.project);
  const { header, classes } = await jobHeader(orchestra.db, project, job.id);
  const options = job.options as { num_workers?: number; num_epochs?: number; image_ids?: string[] };
  const images = await trainingImages(orchestra.db, project.name, {
    minAnnotations: project.settings.minAnnotationsPerImage,
    maxImages: project.settings.maxTrainingImages,
    imageIds: options.image_ids && options.image_ids.length > 0 ? options.image_ids : undefined,
  });
  if (images.length === 0) throw failedPrecondition('no annotated images to train on');
  const current = await currentState(orchestra.db, project.name);
  const base = current && current.modelLibrary === project.settings.modelLibrary ? current : null;
  checkClassChanges(orchestra, project.settings.modelLibrary, base, classes);
  let state = await stateBytes(orchestra.db, project.name, base?.id ?? null);
  const rounds = options.num_epochs || project.settings.autoTrain.numEpochs || 1;
  // 0 or absent: the project's default (its auto-train policy's worker count), else one worker.
  const numWorkers = options.num_workers || project.settings.autoTrain.numWorkers || 1;
  const data = toImageData(images);
  let result: Awaited<ReturnType<typeof trainDistributed>> | undefined;
  for (let round = 1; round <= rounds; round++) {
    const report = partsProgress((done, total, message) => run.progress.updateState('PROGRESS', `round ${round}/${rounds}, ${message}`, done, total));
    result = await trainDistributed({
      dispatch: { pool: orchestra.workers, library: project.settings.modelLibrary, maxAttempts: orchestra.maxAttempts, signal, logger: orchestra.logger, onWait: (why) => run.progress.updateState('WAITING', why) },
      header, images: data, state, numWorkers,
      // Every event counts, a part's final one too: it carries done == total even when the throttle swallowed the last report.
      onProgress: (part, parts, e) => report(part, parts, part === parts ? 'averaging' : 'shard', e),
    });
    state = result.state;
  }
  const trained = result!;
  signal.throwIfAborted();
  await inSpan('store', { attributes: { 'aide.state.bytes': trained.state.length } }, () => inTransaction(orchestra.db, async (client) => {
    const info = await insertState(client, {
      project: project.name, modelLibrary: project.settings.modelLibrary, labelClassMap: trained.labelClassMap,
      stats: trained.stats, parentId: base?.id ?? null, numImages: trained.numImages,
    }, trained.state);
    await setCurrentState(client, project.name, info.id);
    await resetAnnotationsSinceTraining(client, project.name);
    await run.succeed(client, `trained state v${info.version} on ${trained.numImages} images with ${trained.shards.length} worker(s)`);
  }));
}

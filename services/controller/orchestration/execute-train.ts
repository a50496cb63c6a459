import { createHash } from 'node:crypto';
import { failedPrecondition } from '../../../libs/errors.js';
import type { ImageData } from '../../../libs/gen/aide/v1/worker.js';
import { inSpan } from '../../../libs/telemetry/tracer.js';
import type { LabelClass, ModelStateInfo, Project } from '../domain.js';
import { inTransaction } from '../store/db.js';
import { markUnreadable, trainingImages } from '../store/images.js';
import { completeTrainedState, deletePartialStates, partialStates, setCurrentState } from '../store/model-states.js';
import { getProject, resetAnnotationsSinceTraining } from '../store/projects.js';
import { checkTrainingBase } from '../training-base.js';
import type { JobRun, Orchestra } from './context.js';
import { trainRound, type RoundOutput, type RoundStore } from './distributed-train.js';
import { jobHeader, toImageData } from './job-header.js';
import { partsProgress } from './job-progress.js';
import { jobState } from './job-state.js';
import { dbRoundStore, roundState, type StoredRoundState } from './round-store.js';
import { unreadableSummary } from './unreadable-report.js';

interface TrainOptions { num_workers?: number; num_epochs?: number; image_ids?: string[]; from_scratch?: boolean }

/** Label classes changed since the state was trained: fine if the model can follow, else a clear refusal. */
function checkClassChanges(orchestra: Orchestra, library: string, state: ModelStateInfo | null, classes: readonly LabelClass[]): void {
  if (!state) return;
  const meta = orchestra.registry.getModel(library).meta;
  const now = new Set(classes.map((c) => c.id));
  const before = new Set(Object.keys(state.labelClassMap));
  const added = [...now].filter((c) => !before.has(c));
  const removed = [...before].filter((c) => !now.has(c));
  if (added.length > 0 && !meta.canAddLabelClasses) {
    throw failedPrecondition(`model ${library} cannot add label classes, and ${added.length} were added since state v${state.version}; train from scratch (from_scratch) or choose another model`);
  }
  if (removed.length > 0 && !meta.canRemoveLabelClasses) {
    throw failedPrecondition(`model ${library} cannot remove label classes, and ${removed.length} were removed since state v${state.version}`);
  }
}

/** What a round's states are made from: a resumed job reuses stored rounds only if this still matches. */
function fingerprint(project: Project, base: ModelStateInfo | null, numWorkers: number, classes: readonly unknown[], data: readonly ImageData[]): string {
  const { modelLibrary, modelOptionsJson } = project.settings;
  return createHash('sha256').update(JSON.stringify({ base: base?.id ?? null, modelLibrary, modelOptionsJson, numWorkers, classes, data })).digest('hex');
}

/** Where an earlier run of the job stopped: its last stored round's state and the shards stored of the round after. */
async function resumePoint(orchestra: Orchestra, project: string, jobId: string, inputs: string) {
  const stored = await partialStates(orchestra.db, project, jobId);
  if (stored.some((s) => s.part?.inputs !== inputs)) {
    // The selection, the annotations or the settings changed meanwhile: start over.
    await deletePartialStates(orchestra.db, jobId);
    return { round: 0, state: null, shards: new Map<number, ModelStateInfo>() };
  }
  const last = stored.filter((s) => s.part!.shard === null).at(-1) ?? null;
  const round = last?.part!.round ?? 0;
  const shards = new Map(stored.filter((s) => s.part!.round === round + 1 && s.part!.shard !== null).map((s) => [s.part!.shard!, s]));
  return { round, state: last, shards };
}

/**
 * Training: the project's training images on num_workers workers at once
 * (disjoint shards, same input state), averaged on one worker, for
 * num_epochs rounds, each round continuing from the previous one's average.
 * Every intermediate state is a partial state of the job, kept until the
 * round after it is stored, so a job resumed after a controller restart
 * continues after its last stored round (and reuses the shards stored of the
 * one it was in). The last round's average becomes the next version —
 * together with the job's completion, so a restarted job never stores twice.
 * A failure leaves the current state as it was; the runner sweeps the
 * partial states of jobs that ended.
 */
export async function executeTrain(orchestra: Orchestra, run: JobRun): Promise<void> {
  const { job, signal } = run;
  const { db } = orchestra;
  const project = await getProject(db, job.project);
  const { header, classes } = await jobHeader(db, project, job.id);
  const options = job.options as TrainOptions;
  const images = await trainingImages(db, project.name, {
    minAnnotations: project.settings.minAnnotationsPerImage,
    maxImages: project.settings.maxTrainingImages,
    imageIds: options.image_ids && options.image_ids.length > 0 ? options.image_ids : undefined,
  });
  if (images.length === 0) throw failedPrecondition('no annotated images to train on');
  // The state the job continues from: the current one (recorded in the job), which must be of the project's
  // model; none when the job asked to start from scratch.
  const base = options.from_scratch ? null : await jobState(db, job);
  if (base) checkTrainingBase(project, base);
  checkClassChanges(orchestra, project.settings.modelLibrary, base, classes);
  const rounds = options.num_epochs || project.settings.autoTrain.numEpochs || 1;
  // 0 or absent: the project's default (its auto-train policy's worker count), else one worker.
  const numWorkers = options.num_workers || project.settings.autoTrain.numWorkers || 1;
  const data = toImageData(images);
  const inputs = fingerprint(project, base, numWorkers, header.labelClasses, data);
  const resumed = await resumePoint(orchestra, project.name, job.id, inputs);
  let input: StoredRoundState | null = resumed.state ? roundState(orchestra.states, resumed.state) : base && roundState(orchestra.states, base);
  // The bar spans all rounds: a round's share is the most work any round reported so far.
  let perRound = 0;
  // Image id → why the model could not read it, as any shard of any round found.
  const unreadable = new Map<string, string>();
  const noting = (store: RoundStore<StoredRoundState>): RoundStore<StoredRoundState> => {
    const note = (o: RoundOutput) => { for (const u of o.unreadable) unreadable.set(u.imageId, u.reason); };
    return {
      storedShard: (index) => store.storedShard(index),
      saveShard: (index, o) => { note(o); return store.saveShard(index, o); },
      saveRound: (o) => { note(o); return store.saveRound(o); },
    };
  };
  for (let round = resumed.round + 1; round <= rounds; round++) {
    const report = partsProgress((done, total, message) => {
      perRound = Math.max(perRound, total);
      run.progress.updateState('PROGRESS', `round ${round}/${rounds}, ${message}`, (round - 1) * perRound + Math.min(done, perRound), rounds * perRound);
    });
    input = await trainRound({
      dispatch: {
        pool: orchestra.workers, library: project.settings.modelLibrary, maxAttempts: orchestra.maxAttempts, signal, logger: orchestra.logger,
        onWait: (why) => run.progress.updateState('WAITING', why), stateFolder: orchestra.states.blobs,
      },
      header, images: data, input: input?.state ?? null, numWorkers,
      store: noting(dbRoundStore(orchestra.states, {
        project: project.name, modelLibrary: project.settings.modelLibrary, part: { jobId: job.id, round, inputs }, inputId: input?.info.id ?? null,
        stored: round === resumed.round + 1 ? resumed.shards : new Map(),
      })),
      // Every event counts, a part's final one too: it carries done == total even when the throttle swallowed the last report.
      onProgress: (part, parts, e) => report(part, part === parts ? 'averaging' : `shard ${part + 1}/${parts}`, e),
    });
    // The next round's first report would otherwise replace this round's last (the averaging) in the throttle.
    run.progress.flush();
  }
  const trained = input!;
  signal.throwIfAborted();
  await inSpan('store', { attributes: { 'aide.state.bytes': trained.info.sizeBytes } }, () => inTransaction(db, async (client) => {
    const info = await completeTrainedState(client, project.name, trained.info.id, base?.id ?? null);
    await setCurrentState(client, project.name, info.id);
    await resetAnnotationsSinceTraining(client, project.name);
    // Marked, not cleared: a shard reused from an earlier run of the job did not say which images it could read.
    const failures = [...unreadable].map(([imageId, reason]) => ({ imageId, reason }));
    await markUnreadable(client, project.name, failures);
    const paths = new Map(images.map((i) => [i.id, i.filePath]));
    await run.succeed(client, `trained state v${info.version} on ${info.numImages} images with ${Math.min(numWorkers, images.length)} worker(s) in ${rounds} round(s)${unreadableSummary(failures, paths)}`);
  }));
}

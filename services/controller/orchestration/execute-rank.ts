import { payload } from '../../../libs/blob/index.js';
import { failedPrecondition } from '../../../libs/errors.js';
import type { ProgressEvent } from '../../../libs/gen/aide/v1/common.js';
import type { RankRequest } from '../../../libs/gen/aide/v1/ranker.js';
import { readImagePredictions } from '../../../libs/wire/image-predictions-parts.js';
import { annotationTypeToProto } from '../../../libs/wire/plugin-info.js';
import { storedPredictionPayloads } from '../prediction-payloads.js';
import { inTransaction } from '../store/db.js';
import { countPredictedImages, setPriorities } from '../store/predictions.js';
import { getProject } from '../store/projects.js';
import type { JobRun, Orchestra } from './context.js';
import { jobState } from './job-state.js';

/** Ranking: the state's predictions through the Ranker service; the priorities it assigns are stored by prediction id. */
export async function executeRank(orchestra: Orchestra, run: JobRun): Promise<void> {
  const { job, signal } = run;
  const project = await getProject(orchestra.db, job.project);
  if (!project.settings.rankerLibrary) throw failedPrecondition('the project has no ranker (settings.ranker_library)');
  const state = await jobState(orchestra.db, job);
  if (!state) throw failedPrecondition('the project has no model state whose predictions could be ranked');
  const stateId = state.id;
  const numImages = await countPredictedImages(orchestra.db, project.name, stateId);
  // Image by image from the database: only the priorities that come back are held for the whole job.
  async function* requests(): AsyncGenerator<RankRequest> {
    yield { payload: { $case: 'header', value: {
      jobId: job.id, project: project.name, rankerLibrary: project.settings.rankerLibrary,
      rankerOptionsJson: project.settings.rankerOptionsJson, predictionType: annotationTypeToProto(project.predictionType),
      numImages, traceparent: '',
    } } };
    for await (const part of storedPredictionPayloads(orchestra.db, project.name, stateId)) yield { payload: part };
  }
  const priorities: { id: string; priority: number }[] = [];
  let rankedImages = 0;
  const responses = orchestra.ranker.rank(requests(), { signal });
  for await (const part of readImagePredictions(responses, { whole: payload('image'), chunk: payload('imageChunk') }, { signal, close: true })) {
    if ('image' in part) {
      rankedImages++;
      for (const p of part.image.predictions) priorities.push({ id: p.id, priority: p.priority });
    } else if (part.message.payload?.$case === 'progress') {
      const e: ProgressEvent = part.message.payload.value;
      run.progress.updateState('PROGRESS', `ranking: ${e.message}`, e.done, e.total);
    }
  }
  signal.throwIfAborted();
  await inTransaction(orchestra.db, async (client) => {
    await setPriorities(client, project.name, state.id, priorities);
    await run.succeed(client, `ranked ${priorities.length} predictions of ${rankedImages} images with ${project.settings.rankerLibrary}`);
  });
}

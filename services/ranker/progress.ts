import type { JobState, ProgressEvent } from '../../libs/gen/aide/v1/common.js';
import type { RankHeader, RankResponse } from '../../libs/gen/aide/v1/ranker.js';

/** A Rank call's progress: images done so far, and its events in sequence (total never below done). */
export interface RankProgress {
  /** Images read (a Ranker: ranked) so far. */
  done: number;
  /** The next event; done and total default to the images done and the header's count (at least done). */
  event(state: JobState, modelState: string, message: string, done?: number, total?: number): RankResponse;
}

export function progressEvents(header: RankHeader): RankProgress {
  let seq = 0;
  const progress: RankProgress = {
    done: 0,
    event(state, modelState, message, done = progress.done, total = Math.max(header.numImages, done)) {
      return {
        payload: {
          $case: 'progress',
          value: {
            jobId: header.jobId, project: header.project, workerId: '', state, modelState, message,
            done, total, time: new Date(), seq: ++seq,
          } satisfies ProgressEvent,
        },
      };
    },
  };
  return progress;
}

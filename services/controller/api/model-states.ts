import { toChunks } from '../../../libs/blob/index.js';
import type { ExportModelStateResponse } from '../../../libs/gen/aide/v1/controller.js';
import { getProject } from '../store/projects.js';
import * as store from '../store/model-states.js';
import { reapDeletedBlobs } from '../store/state-blobs.js';
import { goldenAccuracy } from '../store/golden-results.js';
import { stoppingSignals } from '../store/stopping-signal.js';
import { goldenAccuracyToProto, stateInfoToProto, stoppingSignalToProto } from '../wire/model-state.js';
import type { ControllerDeps, ControllerHandlers } from './deps.js';
import { id } from './fields.js';
import { importModelState } from './model-state-import.js';

export function modelStateHandlers(deps: ControllerDeps): Pick<ControllerHandlers,
  'listModelStates' | 'exportModelState' | 'importModelState' | 'deleteModelState' | 'setCurrentModelState' | 'getTrainingStatistics'> {
  const { pool, states } = deps;
  const statesOf = async (project: string) => {
    await getProject(pool, project);
    return { states: (await store.listStates(pool, project)).map(stateInfoToProto) };
  };
  return {
    listModelStates: (req) => statesOf(req.project),

    // The same states (each carries its stats, ordered by version, which is what a plot needs), their golden-question scores and stopping signals.
    async getTrainingStatistics(req) {
      const { states } = await statesOf(req.project);
      return {
        states,
        goldenAccuracy: (await goldenAccuracy(pool, req.project)).map(goldenAccuracyToProto),
        stopping: (await stoppingSignals(pool, req.project)).map(stoppingSignalToProto),
      };
    },

    async *exportModelState(req): AsyncGenerator<ExportModelStateResponse> {
      const { info, chunks } = await store.openState(states, req.project, id('id', req.id));
      yield { payload: { $case: 'info', value: stateInfoToProto(info) } };
      // The stored SHA-256 goes out as it is: the client's check covers the bytes at rest too.
      for await (const chunk of toChunks(chunks, { totalSize: info.sizeBytes, sha256: info.sha256 })) yield { payload: { $case: 'chunk', value: chunk } };
    },

    async importModelState(requests, ctx) {
      const info = await importModelState(states, deps.registry, requests, { maxBytes: deps.maxStateBytes, signal: ctx.signal });
      return { state: stateInfoToProto(info) };
    },

    async deleteModelState(req) {
      await store.deleteState(pool, req.project, id('id', req.id));
      await reapDeletedBlobs(states); // its file is gone when the call returns
      return {};
    },

    async setCurrentModelState(req) {
      return { state: stateInfoToProto(await store.setCurrentState(pool, req.project, id('id', req.id))) };
    },
  };
}

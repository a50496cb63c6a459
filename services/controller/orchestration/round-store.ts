import type { StreamedState } from '../../../libs/worker-client/worker-client.js';
import type { ModelStateInfo, TrainingPart } from '../domain.js';
import { inTransaction } from '../store/db.js';
import { deletePartialStates, insertState, stateBytes, type StateStore } from '../store/model-states.js';
import type { RoundOutput, RoundState, RoundStore } from './distributed-train.js';

export type StoredRoundState = RoundState & { info: ModelStateInfo };

/**
 * A stored state as a worker gets it: streamed from its file afresh for each
 * worker, with the SHA-256 stored with it; a worker sharing the folder reads the file itself.
 */
export const storedState = (store: StateStore, info: ModelStateInfo): StreamedState => ({
  size: info.sizeBytes, sha256: info.sha256, file: info.id, open: () => stateBytes(store, info),
});

/** A stored state as a round uses it. */
export const roundState = (store: StateStore, info: ModelStateInfo): StoredRoundState => ({
  info,
  state: storedState(store, info),
  numImages: info.numImages,
  stats: info.stats,
  labelClassMap: info.labelClassMap,
});

/**
 * One round's states as partial states of the training job. Storing the
 * round's outcome deletes, in the same transaction, the job's other partial
 * states (the round's shards, the previous round's outcome): at any time the
 * job has at most one round's worth of states, and a crash leaves the last
 * stored round to resume from.
 */
export function dbRoundStore(store: StateStore, opts: {
  project: string;
  modelLibrary: string;
  part: Omit<TrainingPart, 'shard'>;
  /** The round's input (parent of what it stores). */
  inputId: string | null;
  /** Shards a previous run of this round stored. */
  stored: ReadonlyMap<number, ModelStateInfo>;
}): RoundStore<StoredRoundState> {
  const meta = (o: RoundOutput) => ({
    project: opts.project, modelLibrary: opts.modelLibrary, labelClassMap: o.labelClassMap, stats: o.stats, parentId: opts.inputId, numImages: o.numImages,
  });
  return {
    storedShard(index) {
      const info = opts.stored.get(index);
      return info && roundState(store, info);
    },
    async saveShard(index, o) {
      return roundState(store, await insertState(store, meta(o), o.pieces, { part: { ...opts.part, shard: index }, sha256: () => o.pieces.sha256 }));
    },
    saveRound: (o) => inTransaction(store.db, async (client) => {
      const info = await insertState(store, meta(o), o.pieces, { part: { ...opts.part, shard: null }, client, sha256: () => o.pieces.sha256 });
      await deletePartialStates(client, opts.part.jobId, [info.id]);
      return roundState(store, info);
    }),
  };
}

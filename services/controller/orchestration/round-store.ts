import type pg from 'pg';
import type { ModelStateInfo, TrainingPart } from '../domain.js';
import { inTransaction } from '../store/db.js';
import { deletePartialStates, insertState, stateBytes } from '../store/model-states.js';
import type { RoundOutput, RoundState, RoundStore } from './distributed-train.js';

export type StoredRoundState = RoundState & { info: ModelStateInfo };

/** A stored state as a round uses it: its bytes stream from the database, afresh for each worker. */
export const roundState = (db: pg.Pool, info: ModelStateInfo): StoredRoundState => ({
  info,
  state: { size: info.sizeBytes, open: () => stateBytes(db, info) },
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
export function dbRoundStore(db: pg.Pool, opts: {
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
      return info && roundState(db, info);
    },
    async saveShard(index, o) {
      return roundState(db, await insertState(db, meta(o), o.pieces, { part: { ...opts.part, shard: index } }));
    },
    saveRound: (o) => inTransaction(db, async (client) => {
      const info = await insertState(client, meta(o), o.pieces, { part: { ...opts.part, shard: null } });
      await deletePartialStates(client, opts.part.jobId, [info.id]);
      return roundState(db, info);
    }),
  };
}

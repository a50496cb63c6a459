import type { Migration } from '../../../libs/db/index.js';

/**
 * Training rounds keep their intermediate states, and golden questions score
 * the states that predicted them.
 */
export const trainingRoundsAndGolden: Migration = {
  id: '0002_training_rounds_golden',
  sql: `
-- A training job's intermediate states (each shard's, each round's average) are partial states of the job:
-- a resumed job continues after its last stored round; each is deleted once superseded.
ALTER TABLE model_states
  ADD COLUMN job_id uuid REFERENCES jobs(id) ON DELETE SET NULL,
  ADD COLUMN round integer,
  -- NULL: the round's average (or its only shard).
  ADD COLUMN shard integer,
  -- Fingerprint of what the job trains (base state, images, annotations, workers): a resumed job reuses
  -- partial states only if it matches.
  ADD COLUMN inputs text NOT NULL DEFAULT '';
CREATE INDEX model_states_partial_job ON model_states (job_id) WHERE partial;

-- Per golden question and state: how the state's predictions compare with the image's annotations
-- (see services/controller/golden-accuracy.ts for what matched / predicted / annotated count).
CREATE TABLE golden_results (
  state_id uuid NOT NULL REFERENCES model_states(id) ON DELETE CASCADE,
  image_id uuid NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  prediction_type text NOT NULL,
  matched bigint NOT NULL,
  predicted bigint NOT NULL,
  annotated bigint NOT NULL,
  computed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (state_id, image_id)
);
`,
};

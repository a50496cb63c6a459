import type { Migration } from '../../../libs/db/index.js';

/**
 * A model's embedding of each image it predicted (store/embeddings.ts): one
 * row per state and image, beside its predictions, replaced with them by an
 * inference run (staged under the run like staged_predictions, moved in the
 * transaction that completes the job).
 */
export const imageEmbeddings: Migration = {
  id: '0005_image_embeddings',
  sql: `
-- dim float16 values, little-endian (2 × dim bytes).
CREATE TABLE image_embeddings (
  state_id uuid NOT NULL REFERENCES model_states(id) ON DELETE CASCADE,
  image_id uuid NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  dim integer NOT NULL CHECK (dim > 0),
  float16 bytea NOT NULL CHECK (octet_length(float16) = 2 * dim),
  PRIMARY KEY (state_id, image_id)
);

CREATE TABLE staged_image_embeddings (
  run_id uuid NOT NULL,
  job_id uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  state_id uuid NOT NULL REFERENCES model_states(id) ON DELETE CASCADE,
  image_id uuid NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  dim integer NOT NULL CHECK (dim > 0),
  float16 bytea NOT NULL CHECK (octet_length(float16) = 2 * dim),
  PRIMARY KEY (run_id, image_id)
);
CREATE INDEX staged_image_embeddings_job ON staged_image_embeddings (job_id);
`,
};

import type { Migration } from '../../../libs/db/index.js';

/** The controller's tables. Unqualified names: they land in the configured schema (search_path). */
export const initial: Migration = {
  id: '0001_controller_initial',
  sql: `
CREATE TABLE projects (
  name text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  display_name text NOT NULL DEFAULT '',
  annotation_type text NOT NULL,
  prediction_type text NOT NULL,
  settings jsonb NOT NULL DEFAULT '{}',
  current_state_id uuid,
  annotations_since_training integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE label_classes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project text NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
  name text NOT NULL,
  color text NOT NULL DEFAULT '',
  idx integer NOT NULL CHECK (idx BETWEEN 1 AND 255),
  UNIQUE (project, idx),
  UNIQUE (project, name)
);

CREATE TABLE images (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project text NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
  file_path text NOT NULL,
  width integer NOT NULL DEFAULT 0,
  height integer NOT NULL DEFAULT 0,
  size_bytes bigint NOT NULL DEFAULT 0,
  added_at timestamptz NOT NULL DEFAULT now(),
  last_viewed_at timestamptz,
  golden_question boolean NOT NULL DEFAULT false,
  UNIQUE (project, file_path)
);

CREATE TABLE annotations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  image_id uuid NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  label_class_id uuid REFERENCES label_classes(id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('label', 'point', 'box', 'mask')),
  x double precision,
  y double precision,
  width double precision,
  height double precision,
  mask bytea,
  mask_width integer,
  mask_height integer,
  unsure boolean NOT NULL DEFAULT false,
  author text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX annotations_image ON annotations (image_id);

CREATE TABLE model_states (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project text NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
  model_library text NOT NULL,
  -- NULL while partial (a shard awaiting averaging): versions count complete states only.
  version integer,
  label_class_map jsonb NOT NULL DEFAULT '{}',
  stats jsonb NOT NULL DEFAULT '{}',
  parent_id uuid REFERENCES model_states(id) ON DELETE SET NULL,
  num_images integer NOT NULL DEFAULT 0,
  size_bytes bigint NOT NULL DEFAULT 0,
  sha256 bytea NOT NULL DEFAULT '',
  partial boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project, version)
);

-- 1 MiB pieces: a state may exceed bytea's 1 GB limit and is never held whole in memory.
CREATE TABLE model_state_chunks (
  state_id uuid NOT NULL REFERENCES model_states(id) ON DELETE CASCADE,
  seq integer NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (state_id, seq)
);

ALTER TABLE projects ADD CONSTRAINT projects_current_state_fk
  FOREIGN KEY (current_state_id) REFERENCES model_states(id) ON DELETE SET NULL;

CREATE TABLE predictions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  image_id uuid NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  state_id uuid NOT NULL REFERENCES model_states(id) ON DELETE CASCADE,
  label_class_id uuid REFERENCES label_classes(id) ON DELETE SET NULL,
  kind text NOT NULL CHECK (kind IN ('label', 'point', 'box', 'segmentation')),
  confidence double precision NOT NULL DEFAULT 0,
  logits double precision[] NOT NULL DEFAULT '{}',
  priority double precision NOT NULL DEFAULT 0,
  x double precision,
  y double precision,
  width double precision,
  height double precision,
  seg_width integer,
  seg_height integer,
  label_map bytea,
  confidence_map bytea,
  logits_map bytea,
  num_classes integer
);
CREATE INDEX predictions_state_image ON predictions (state_id, image_id);
-- NextBatch: highest priority per image of the current state.
CREATE INDEX predictions_state_priority ON predictions (state_id, priority DESC);

CREATE TABLE jobs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project text NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('train', 'inference', 'rank', 'average', 'workflow')),
  state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  done bigint NOT NULL DEFAULT 0,
  total bigint NOT NULL DEFAULT 0,
  message text NOT NULL DEFAULT '',
  options jsonb NOT NULL DEFAULT '{}',
  worker text NOT NULL DEFAULT '',
  attempts integer NOT NULL DEFAULT 0,
  error text NOT NULL DEFAULT '',
  parent_id uuid REFERENCES jobs(id) ON DELETE CASCADE,
  step_index integer,
  -- Milliseconds: the paging cursor travels as a JS Date.
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  started_at timestamptz,
  finished_at timestamptz,
  cancel_requested boolean NOT NULL DEFAULT false,
  lease_owner text,
  lease_expires_at timestamptz
);
CREATE INDEX jobs_project_created ON jobs (project, created_at DESC, id DESC);
CREATE INDEX jobs_parent ON jobs (parent_id, step_index);
-- Crash recovery scans the unfinished ones.
CREATE INDEX jobs_unfinished ON jobs (state, lease_expires_at) WHERE state IN ('queued', 'running');

CREATE TABLE job_events (
  job_id uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  seq bigint NOT NULL,
  event jsonb NOT NULL,
  time timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (job_id, seq)
);

CREATE TABLE marketplace_entries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  author text NOT NULL DEFAULT '',
  annotation_type text NOT NULL,
  prediction_type text NOT NULL,
  origin_project text NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
  model_library text NOT NULL,
  model_state_id uuid NOT NULL REFERENCES model_states(id) ON DELETE CASCADE,
  label_class_names jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX marketplace_annotation_type ON marketplace_entries (annotation_type, created_at DESC);
`,
};

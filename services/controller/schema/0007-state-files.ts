import type { Migration } from '../../../libs/db/index.js';

/**
 * Model states' bytes move out of Postgres into files of the controller's
 * state folder (store/model-states.ts). A deleted state's row — by
 * DeleteModelState, a job's cleanup or a project's cascade alike — leaves its
 * id in state_blob_deletions in the same transaction, so its file is removed
 * once the deletion committed, however it happened. model_state_chunks stays
 * until every controller has moved its rows to files (state-blobs.ts).
 */
export const stateFiles: Migration = {
  id: '0007_state_files',
  sql: `
CREATE TABLE state_blob_deletions (name uuid PRIMARY KEY);

CREATE FUNCTION note_state_blob_deletion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO state_blob_deletions (name) VALUES (OLD.id) ON CONFLICT DO NOTHING;
  RETURN OLD;
END $$;

CREATE TRIGGER model_states_blob_deletion AFTER DELETE ON model_states
  FOR EACH ROW EXECUTE FUNCTION note_state_blob_deletion();
`,
};

import type { Migration } from '../../../libs/db/index.js';

/**
 * Images remember why they cannot be read, and an inference run's predictions
 * wait in a staging table until the run is complete (see store/predictions.ts).
 */
export const unreadableImagesStagedPredictions: Migration = {
  id: '0004_unreadable_images_staged_predictions',
  sql: `
-- Why the image cannot be read (missing, not an image), as registration or the last job that tried found; '' = readable.
ALTER TABLE images ADD COLUMN unreadable_reason text NOT NULL DEFAULT '';

-- Predictions of an inference run still in progress: readers never see them; the run's end moves them into
-- predictions, replacing the state's earlier predictions of the run's images, in one transaction.
-- run_id: one execution of the job (a controller that lost the job's lease must not touch its successor's rows).
CREATE TABLE staged_predictions (LIKE predictions INCLUDING DEFAULTS);
ALTER TABLE staged_predictions
  ADD COLUMN run_id uuid NOT NULL,
  ADD COLUMN job_id uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  ADD FOREIGN KEY (image_id) REFERENCES images(id) ON DELETE CASCADE,
  ADD FOREIGN KEY (state_id) REFERENCES model_states(id) ON DELETE CASCADE;
CREATE INDEX staged_predictions_run_image ON staged_predictions (run_id, image_id);
CREATE INDEX staged_predictions_job ON staged_predictions (job_id);
`,
};

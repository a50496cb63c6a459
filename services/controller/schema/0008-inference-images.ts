import type { Migration } from '../../../libs/db/index.js';

/**
 * An inference run's images, chosen once when the run starts: the controller
 * reads them back a page per shard as it sends them to workers, and the
 * run's commit joins against them, so no list of a project's images (10^6
 * of them) is ever held in the controller's memory. Rows go with the run.
 */
export const inferenceImages: Migration = {
  id: '0008_inference_images',
  sql: `
CREATE TABLE inference_images (
  run_id uuid NOT NULL,
  job_id uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  shard integer NOT NULL,
  file_path text NOT NULL,
  image_id uuid NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  golden_question boolean NOT NULL,
  PRIMARY KEY (run_id, shard, file_path)
);
CREATE INDEX inference_images_run_image ON inference_images (run_id, image_id);
CREATE INDEX inference_images_job ON inference_images (job_id);
`,
};

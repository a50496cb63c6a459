import type { Migration } from '../../../libs/db/index.js';

/**
 * The staging tables of inference runs (staged_predictions,
 * staged_image_embeddings) lose their foreign keys to images and states, and
 * the index 0009 gave image_id for them. Every staged row was checked against
 * images, states and jobs as it was written, then again against images and
 * states when the run's end copied it into predictions and image_embeddings,
 * whose own keys hold the stored rows: the first check was most of what
 * staging cost Postgres (EXPLAIN ANALYZE of 2,000 rows: 41 of 69 ms in the
 * triggers of the three keys, 28 in the two dropped here). The run's commit
 * takes only the run's images (inference_images, which keeps its key to
 * images and loses a deleted image by cascade), so a staged row of an image
 * deleted meanwhile is never copied; the key to jobs stays, so a project's
 * deletion still takes its runs' staged rows along.
 *
 * The tables stay logged: UNLOGGED saved nothing measurable
 * (bench/controller/stage-predictions.ts), and an unlogged table comes back
 * empty after a crash or on a promoted standby, where a run whose pool
 * reconnected between two batches would commit without its earlier ones.
 */
export const leanStaging: Migration = {
  id: '0010_lean_staging',
  sql: `
ALTER TABLE staged_predictions DROP CONSTRAINT staged_predictions_image_id_fkey, DROP CONSTRAINT staged_predictions_state_id_fkey;
DROP INDEX staged_predictions_image;
ALTER TABLE staged_image_embeddings DROP CONSTRAINT staged_image_embeddings_image_id_fkey, DROP CONSTRAINT staged_image_embeddings_state_id_fkey;
DROP INDEX staged_image_embeddings_image;
`,
};

import type { Migration } from '../../../libs/db/index.js';

/**
 * An index on image_id wherever a foreign key references an image. Deleting
 * an image (a project's deletion deletes all of them) deletes or checks the
 * rows that reference it through these keys, and without an index each
 * image's cascade scanned the whole table: bench/controller/delete-project.ts
 * took 32 s instead of 1 for 10,000 images on Postgres, and the embedded
 * database spent over 16 minutes deleting a project of 12,000 images. The
 * staging tables need one too: the rows they held are deleted after each
 * run, but until a vacuum (never, in the embedded database) a scan reads
 * every dead row of every earlier run.
 */
export const imageForeignKeyIndexes: Migration = {
  id: '0009_image_foreign_key_indexes',
  sql: `
CREATE INDEX predictions_image ON predictions (image_id);
CREATE INDEX image_embeddings_image ON image_embeddings (image_id);
CREATE INDEX golden_results_image ON golden_results (image_id);
CREATE INDEX staged_predictions_image ON staged_predictions (image_id);
CREATE INDEX staged_image_embeddings_image ON staged_image_embeddings (image_id);
CREATE INDEX inference_images_image ON inference_images (image_id);
`,
};

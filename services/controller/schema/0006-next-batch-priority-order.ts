import type { Migration } from '../../../libs/db/index.js';

/**
 * NextBatch reads a state's predictions in its own order (priority, highest
 * first, ties by image id) from an index and stops at the page's end,
 * instead of grouping every prediction of the state per call.
 */
export const nextBatchPriorityOrder: Migration = {
  id: '0006_next_batch_priority_order',
  sql: `
CREATE INDEX predictions_state_priority_image ON predictions (state_id, priority DESC, image_id);
DROP INDEX predictions_state_priority;
`,
};

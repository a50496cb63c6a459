import type { Migration } from '../../../libs/db/index.js';

/**
 * State versions are never reused: a project counts the versions it has
 * given, so deleting the newest state does not hand its number to the next
 * one (training statistics by version would otherwise alias two states).
 */
export const stateVersionCounter: Migration = {
  id: '0003_state_version_counter',
  sql: `
ALTER TABLE projects ADD COLUMN last_state_version integer NOT NULL DEFAULT 0;
UPDATE projects p SET last_state_version = coalesce((SELECT max(version) FROM model_states s WHERE s.project = p.name), 0);
`,
};

/**
 * How a job names the images its model could not read (missing, not an
 * image): counted and, the first few, by path and reason in the job's
 * message, which the job's final event carries too.
 */
import type { UnreadableImage } from '../../../libs/gen/aide/v1/worker.js';

/** Images named in a job's message at most; the rest are counted (and marked on the images). */
export const NAMED_UNREADABLE = 10;

/** "; 2 images unreadable: a.png (not found), b.png (is not a readable image)" — '' when none. */
export function unreadableSummary(unreadable: readonly UnreadableImage[], pathOf: ReadonlyMap<string, string>): string {
  if (unreadable.length === 0) return '';
  // By path: the same images are named whichever shard finished first.
  const named = unreadable.map((u) => ({ path: pathOf.get(u.imageId) ?? u.imageId, reason: u.reason }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .slice(0, NAMED_UNREADABLE).map((u) => `${u.path} (${u.reason})`);
  const more = unreadable.length > NAMED_UNREADABLE ? ` and ${unreadable.length - NAMED_UNREADABLE} more` : '';
  return `; ${unreadable.length} image${unreadable.length === 1 ? '' : 's'} unreadable: ${named.join(', ')}${more}`;
}

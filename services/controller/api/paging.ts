import type { PageQuery } from '../domain.js';
import { decodePageToken, encodePageToken } from '../../fileserver/page-token.js';
import { invalidField } from '../../../libs/errors.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export interface PageRequest {
  pageSize: number;
  pageToken: string;
}

/**
 * One page of a keyset listing: asks `fetch` for one row more than the page
 * to learn whether another page follows; the token carries the last row's
 * cursor, bound to `query` (the listing's filters) so it cannot be replayed
 * against another listing.
 */
export async function paginate<T>(
  req: PageRequest,
  query: string,
  fetch: (page: PageQuery) => Promise<T[]>,
  cursorOf: (item: T) => string,
): Promise<{ items: T[]; nextPageToken: string }> {
  if (req.pageSize > MAX_PAGE_SIZE) throw invalidField('page_size', `must be at most ${MAX_PAGE_SIZE}`);
  const limit = req.pageSize || DEFAULT_PAGE_SIZE;
  const after = decodePageToken(req.pageToken, query);
  const rows = await fetch({ ...(after === undefined ? {} : { after }), limit: limit + 1 });
  const items = rows.slice(0, limit);
  const nextPageToken = rows.length > limit ? encodePageToken({ query, after: cursorOf(items.at(-1)!) }) : '';
  return { items, nextPageToken };
}

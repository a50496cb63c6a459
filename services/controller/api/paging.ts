import type { PageQuery } from '../domain.js';
import { decodePageToken, encodePageToken } from '../../fileserver/page-token.js';
import { MAX_CHUNK_SIZE } from '../../../libs/blob/index.js';
import { invalidField } from '../../../libs/errors.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** Encoded bytes a page may hold (sizeOf): what a message takes, less room for the response around them. */
export const MAX_PAGE_BYTES = MAX_CHUNK_SIZE;

export interface PageRequest {
  pageSize: number;
  pageToken: string;
}

/**
 * One page of a keyset listing: asks `fetch` for one row more than the page
 * to learn whether another page follows; the token carries the last row's
 * cursor, bound to `query` (the listing's filters) so it cannot be replayed
 * against another listing. With `sizeOf` (an item's encoded bytes), a page
 * also ends before its items would exceed MAX_PAGE_BYTES — but holds at least
 * one, which the caller checks against the message limit.
 */
export async function paginate<T>(
  req: PageRequest,
  query: string,
  fetch: (page: PageQuery) => Promise<T[]>,
  cursorOf: (item: T) => string,
  sizeOf?: (item: T) => number,
): Promise<{ items: T[]; nextPageToken: string }> {
  if (req.pageSize > MAX_PAGE_SIZE) throw invalidField('page_size', `must be at most ${MAX_PAGE_SIZE}`);
  const limit = req.pageSize || DEFAULT_PAGE_SIZE;
  const after = decodePageToken(req.pageToken, query);
  const rows = await fetch({ ...(after === undefined ? {} : { after }), limit: limit + 1 });
  let count = Math.min(rows.length, limit);
  if (sizeOf) {
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      bytes += sizeOf(rows[i]!);
      if (bytes > MAX_PAGE_BYTES && i > 0) {
        count = i;
        break;
      }
    }
  }
  const items = rows.slice(0, count);
  const nextPageToken = rows.length > count ? encodePageToken({ query, after: cursorOf(items.at(-1)!) }) : '';
  return { items, nextPageToken };
}

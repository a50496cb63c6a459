import { invalidField } from '../../libs/errors.js';

/**
 * Opaque listing cursor: the last path returned, bound to the query it came
 * from so a token cannot be replayed against another prefix.
 */
interface Cursor {
  query: string;
  after: string;
}

export const encodePageToken = (cursor: Cursor): string =>
  Buffer.from(JSON.stringify(cursor)).toString('base64url');

export function decodePageToken(token: string, query: string): string | undefined {
  if (token === '') return undefined;
  let cursor: Partial<Cursor>;
  try {
    cursor = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<Cursor>;
  } catch {
    throw invalidField('page_token', 'is not a token this server issued');
  }
  if (cursor.query !== query || typeof cursor.after !== 'string') {
    throw invalidField('page_token', 'does not belong to this listing');
  }
  return cursor.after;
}

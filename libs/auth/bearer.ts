/** The secret of an `Authorization: Bearer <secret>` header (gRPC metadata or HTTP). */

export type BearerResult = { kind: 'none' } | { kind: 'malformed' } | { kind: 'secret'; secret: string };

const BEARER = /^Bearer +(\S+) *$/i;

/** 'none' when there is no header; 'malformed' when there is one but not a single bearer credential. */
export function bearerOf(header: string | readonly string[] | undefined): BearerResult {
  if (header === undefined || header.length === 0) return { kind: 'none' };
  if (typeof header !== 'string') return header.length === 1 ? bearerOf(header[0]) : { kind: 'malformed' };
  const match = BEARER.exec(header);
  return match ? { kind: 'secret', secret: match[1]! } : { kind: 'malformed' };
}

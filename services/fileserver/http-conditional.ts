import type { IncomingHttpHeaders } from 'node:http';

/** The validators of one version of a file. */
export interface Validators {
  etag: string;
  modifiedAt: Date;
}

const stripWeak = (tag: string): string => (tag.startsWith('W/') ? tag.slice(2) : tag);

/** HTTP dates have whole seconds: compare at that precision. */
const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

function parseDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : Math.floor(time / 1000);
}

/**
 * Whether a GET/HEAD may be answered 304 (RFC 9110 §13.2.2): If-None-Match
 * (weak comparison) decides when present; If-Modified-Since only without it.
 */
export function isNotModified(headers: IncomingHttpHeaders, current: Validators): boolean {
  const noneMatch = headers['if-none-match'];
  if (noneMatch !== undefined) {
    const tags = noneMatch.split(',').map((t) => stripWeak(t.trim()));
    return tags.includes('*') || tags.includes(stripWeak(current.etag));
  }
  const since = parseDate(headers['if-modified-since']);
  return since !== undefined && seconds(current.modifiedAt) <= since;
}

/**
 * Whether a Range header still applies: If-Range must name the current version
 * (strong comparison, or the exact Last-Modified date), else the client gets
 * the whole new file instead of a piece of it spliced onto an old one.
 */
export function rangeStillValid(headers: IncomingHttpHeaders, current: Validators): boolean {
  const ifRange = headers['if-range'];
  if (ifRange === undefined) return true;
  if (typeof ifRange !== 'string') return false;
  if (ifRange.startsWith('"') || ifRange.startsWith('W/')) return ifRange === current.etag;
  return parseDate(ifRange) === seconds(current.modifiedAt);
}

/**
 * What the HTTP edge answers about one version of a file: validators and the
 * fixed headers (computed once per version, so cached files reuse them),
 * then per request 200, 206, 304 or 416 with the byte range to send.
 */
import type { BigIntStats } from 'node:fs';
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { etagOf, contentTypeOf } from './file-info.js';
import { isNotModified, rangeStillValid, type Validators } from './http-conditional.js';
import { parseRange, type ByteRange } from './http-range.js';

/** One version of a file as HTTP sees it. */
export interface FileVersion {
  size: number;
  validators: Validators;
  /** Headers of every answer about this version; never mutated. */
  headers: Readonly<OutgoingHttpHeaders>;
}

export function fileVersion(stats: BigIntStats): FileVersion {
  const validators: Validators = { etag: etagOf(stats), modifiedAt: stats.mtime };
  return {
    size: Number(stats.size),
    validators,
    headers: Object.freeze({
      'ETag': validators.etag,
      'Last-Modified': validators.modifiedAt.toUTCString(),
      // Browsers revalidate every time, so a revoked permission takes effect at once.
      'Cache-Control': 'private, no-cache',
      'Accept-Ranges': 'bytes',
      // Uploaded files are served as what their name says, never sniffed or run as a page.
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    }),
  };
}

/** Status, head, and the bytes to send (none for 304, 416, HEAD and empty files). */
export interface Reply {
  status: number;
  headers: OutgoingHttpHeaders;
  body?: ByteRange;
}

export function replyTo(req: IncomingMessage, version: FileVersion, name: string): Reply {
  const { size, validators, headers } = version;
  if (isNotModified(req.headers, validators)) return { status: 304, headers: { ...headers } };
  const range = rangeStillValid(req.headers, validators) ? parseRange(req.headers.range, size) : undefined;
  if (range === 'unsatisfiable') {
    return { status: 416, headers: { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 } };
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  return {
    status: range ? 206 : 200,
    headers: {
      ...headers,
      'Content-Type': contentTypeOf(name),
      'Content-Length': end - start + 1,
      ...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
    },
    ...(req.method === 'HEAD' || size === 0 ? {} : { body: { start, end } }),
  };
}

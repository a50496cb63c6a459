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
  /** Those plus type and length: the headers of a 200 with the whole file (the common answer, sent as is). */
  whole: Readonly<OutgoingHttpHeaders>;
}

/** `name`: the file's path, for its type. */
export function fileVersion(stats: BigIntStats, name: string): FileVersion {
  const validators: Validators = { etag: etagOf(stats), modifiedAt: stats.mtime };
  const size = Number(stats.size);
  const headers = Object.freeze({
    'ETag': validators.etag,
    'Last-Modified': validators.modifiedAt.toUTCString(),
    // Browsers revalidate every time, so a revoked permission takes effect at once.
    'Cache-Control': 'private, no-cache',
    'Accept-Ranges': 'bytes',
    // Uploaded files are served as what their name says, never sniffed or run as a page.
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
  });
  return { size, validators, headers, whole: Object.freeze({ ...headers, 'Content-Type': contentTypeOf(name), 'Content-Length': size }) };
}

/** Status, head, and the bytes to send (none for 304, 416, HEAD and empty files). */
export interface Reply {
  status: number;
  headers: Readonly<OutgoingHttpHeaders>;
  body?: ByteRange;
}

export function replyTo(req: IncomingMessage, version: FileVersion): Reply {
  const { size, validators, headers, whole } = version;
  if (isNotModified(req.headers, validators)) return { status: 304, headers: { ...headers } };
  const range = rangeStillValid(req.headers, validators) ? parseRange(req.headers.range, size) : undefined;
  if (range === 'unsatisfiable') {
    return { status: 416, headers: { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 } };
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  return {
    status: range ? 206 : 200,
    headers: range ? { ...whole, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${size}` } : whole,
    ...(req.method === 'HEAD' || size === 0 ? {} : { body: { start, end } }),
  };
}

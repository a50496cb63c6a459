/**
 * Plain HTTP access for browsers: GET/HEAD /files/<project>/<path>, streamed
 * from disk with validators (ETag, Last-Modified), conditional requests and
 * single byte ranges. Paths pass the same gate as gRPC (safe-path.ts).
 */
import { once } from 'node:events';
import fs from 'node:fs';
import { promisify } from 'node:util';
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AideError, invalidField, notFound, type ErrorKind } from '../../libs/errors.js';
import type { Logger } from '../../libs/log.js';
import { contentTypeOf, etagOf } from './file-info.js';
import { fsError } from '../../libs/files/fs-errors.js';
import { isNotModified, rangeStillValid, type Validators } from './http-conditional.js';
import { parseRange } from './http-range.js';
import { checkProject, pathSegments, resolveExisting } from '../../libs/files/safe-path.js';

/** Decides whether a request may read a project's file; 'unauthenticated' asks for credentials (401). */
export type Authorize = (req: IncomingMessage, project: string, path: string) => Promise<boolean | 'unauthenticated'>;

export const allowAll: Authorize = async () => true;

export interface FileHttpOptions {
  /** Symlink-free root of the project folders (FileStore.root). */
  root: string;
  authorize?: Authorize;
  logger?: Logger;
}

const PREFIX = '/files/';
// One read covers a typical image; memory per response stays bounded by it.
const READ_BUFFER_BYTES = 256 * 1024;

const STATUS_OF: Partial<Record<ErrorKind, number>> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  // Folders are not served.
  FAILED_PRECONDITION: 404,
};

/** Splits the path after /files/ into project and file path, decoding percent-escapes exactly once. */
function parseTarget(url: string): { project: string; path: string } {
  const rawPath = url.split('?', 1)[0]!;
  if (!rawPath.startsWith(PREFIX)) throw notFound('route');
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath.slice(PREFIX.length));
  } catch {
    throw invalidField('path', 'has a malformed percent-escape');
  }
  const slash = decoded.indexOf('/');
  if (slash < 0) throw notFound('file');
  const project = checkProject(decoded.slice(0, slash));
  return { project, path: pathSegments(decoded.slice(slash + 1)).join('/') };
}

async function authorizeOrThrow(authorize: Authorize, req: IncomingMessage, project: string, path: string): Promise<void> {
  const verdict = await authorize(req, project, path);
  if (verdict === 'unauthenticated') throw new AideError('UNAUTHENTICATED', 'credentials required');
  if (!verdict) throw new AideError('PERMISSION_DENIED', 'not allowed to read this project');
}

function validatorHeaders(current: Validators): OutgoingHttpHeaders {
  return {
    'ETag': current.etag,
    'Last-Modified': current.modifiedAt.toUTCString(),
    // Browsers revalidate every time, so a revoked permission takes effect at once.
    'Cache-Control': 'private, no-cache',
  };
}

// Plain descriptors and callback fs: measurably cheaper per request than FileHandle's promise API.
const openFile = promisify(fs.open);
const closeFile = promisify(fs.close);
const fstat = promisify(fs.fstat);

/**
 * Writes the response head for an open descriptor; returns the body to send,
 * if any. The body stream owns the descriptor from then on and closes it after
 * any read still in flight, so a client hanging up mid-body can never make us
 * close an fd that a read still uses.
 */
async function respond(req: IncomingMessage, res: ServerResponse, fd: number, name: string): Promise<Readable | undefined> {
  const stats = await fstat(fd, { bigint: true });
  if (!stats.isFile()) throw notFound(`file '${name}'`);
  const size = Number(stats.size);
  const current: Validators = { etag: etagOf(stats), modifiedAt: stats.mtime };
  const headers: OutgoingHttpHeaders = {
    ...validatorHeaders(current),
    'Accept-Ranges': 'bytes',
    // Uploaded files are served as what their name says, never sniffed or run as a page.
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
  };
  if (isNotModified(req.headers, current)) {
    res.writeHead(304, headers).end();
    return undefined;
  }
  const range = rangeStillValid(req.headers, current) ? parseRange(req.headers.range, size) : undefined;
  if (range === 'unsatisfiable') {
    res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 }).end();
    return undefined;
  }
  const { start, end } = range ?? { start: 0, end: size - 1 };
  res.writeHead(range ? 206 : 200, {
    ...headers,
    'Content-Type': contentTypeOf(name),
    'Content-Length': end - start + 1,
    ...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD' || size === 0) {
    res.end();
    return undefined;
  }
  // Streams from the opened inode: a put renaming a new file into place mid-read cannot mix versions.
  return fs.createReadStream('', { fd, start, end, highWaterMark: READ_BUFFER_BYTES, autoClose: true });
}

function sendError(res: ServerResponse, err: unknown, logger: Logger | undefined): void {
  const status = err instanceof AideError ? (STATUS_OF[err.kind] ?? 500) : 500;
  if (status === 500) logger?.error({ err }, 'file request failed');
  if (res.headersSent) {
    // The body is under way: only cutting the connection tells the client it is incomplete.
    res.destroy();
    return;
  }
  const text = status === 500 ? 'internal error' : (err as AideError).message;
  const headers: OutgoingHttpHeaders = { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) };
  if (status === 401) headers['WWW-Authenticate'] = 'Bearer';
  res.writeHead(status, headers).end(text);
}

/** The request listener: usable on its own (tests, embedding) or via startFileHttpServer. */
export function fileRequestHandler(options: FileHttpOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const authorize = options.authorize ?? allowAll;
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Allow': 'GET, HEAD', 'Content-Length': 0 }).end();
      return;
    }
    const target = parseTarget(req.url ?? '/');
    await authorizeOrThrow(authorize, req, target.project, target.path);
    const file = await resolveExisting(options.root, target.project, target.path);
    let fd: number;
    try {
      fd = await openFile(file.absolute, 'r');
    } catch (err) {
      throw fsError(err, file.relative);
    }
    let body: Readable | undefined;
    try {
      body = await respond(req, res, fd, file.relative);
    } finally {
      if (!body) await closeFile(fd);
    }
    if (body) await pipeline(body, res);
  };
  return (req, res) => {
    serve(req, res).catch((err: unknown) => {
      // A client that went away mid-body is not an error of ours.
      if (res.destroyed || req.destroyed) return;
      sendError(res, err, options.logger);
    });
  };
}

export interface RunningHttpServer {
  port: number;
  server: http.Server;
  /** Stops accepting; responses under way get until the deadline, then their connections are cut. */
  close(deadlineMs?: number): Promise<void>;
}

export async function startFileHttpServer(
  options: FileHttpOptions & { host?: string; port: number },
): Promise<RunningHttpServer> {
  const server = http.createServer(fileRequestHandler(options));
  // Idle keep-alive sockets would otherwise hold close() open.
  server.keepAliveTimeout = 5_000;
  server.listen(options.port, options.host ?? '0.0.0.0');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: async (deadlineMs = 0) => {
      const closed = once(server, 'close');
      server.close();
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), deadlineMs);
      await closed;
      clearTimeout(force);
    },
  };
}

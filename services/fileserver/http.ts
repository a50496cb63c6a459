/**
 * Plain HTTP access for browsers: GET/HEAD /files/<project>/<path> with
 * validators (ETag, Last-Modified), conditional requests and single byte
 * ranges. Every request is authorized and its path passes the same gate as
 * gRPC (safe-path.ts); then small files come from a cache checked against a
 * stat (file-cache.ts) or are read whole, larger ones stream from disk.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import { promisify } from 'node:util';
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LRUCache } from 'lru-cache';
import { AideError, invalidField, notFound, type ErrorKind } from '../../libs/errors.js';
import type { Logger } from '../../libs/log.js';
import { fsError } from '../../libs/files/fs-errors.js';
import { FileCache, type CachedFile } from './file-cache.js';
import { fileVersion, replyTo, type FileVersion, type Reply } from './http-reply.js';
import {
  checkProject, lexicalPath, pathSegments, plainFile, resolveSegments, type LexicalPath, type ProjectPath,
} from '../../libs/files/safe-path.js';

/** Decides whether a request may read a project's file; 'unauthenticated' asks for credentials (401). */
export type Authorize = (req: IncomingMessage, project: string, path: string) => Promise<boolean | 'unauthenticated'>;

export const allowAll: Authorize = async () => true;

export interface FileHttpOptions {
  /** Symlink-free root of the project folders (FileStore.root). */
  root: string;
  authorize?: Authorize;
  logger?: Logger;
  /** Memory for recently served small files (file-cache.ts); 0 = none. Default DEFAULT_HTTP_CACHE_BYTES. */
  cacheBytes?: number;
}

const PREFIX = '/files/';
// One read covers a typical image; memory per response stays bounded by it.
const READ_BUFFER_BYTES = 256 * 1024;
/** Files up to this size are read whole in one go and may be cached; larger ones stream. */
export const SMALL_FILE_BYTES = READ_BUFFER_BYTES;
export const DEFAULT_HTTP_CACHE_BYTES = 256 * 1024 ** 2;

const STATUS_OF: Partial<Record<ErrorKind, number>> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  // Folders are not served.
  FAILED_PRECONDITION: 404,
};

/** A request's target: the project and its file's validated path segments. */
interface Target {
  project: string;
  segments: string[];
  /** The segments joined: the normalized relative path. */
  path: string;
  /** Where the path leads under the root as written. */
  lexical: LexicalPath;
}

/** Splits the path after /files/ into project and file path, decoding percent-escapes exactly once. */
function parseTarget(url: string, root: string): Target {
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
  const segments = pathSegments(decoded.slice(slash + 1));
  return { project, segments, path: segments.join('/'), lexical: lexicalPath(root, project, segments) };
}

// Browsers ask for the same URLs again and again: their parse (a pure function of the text) is remembered,
// within a budget of characters, as any client (authorized or not) may send URLs of up to Node's header limit.
const TARGET_MEMORY_CHARS = 4 * 1024 ** 2;
const charsOf = (url: string, target: Target): number =>
  url.length + target.path.length * 2 + target.lexical.file.length * (target.lexical.folders.length + 1);

async function authorizeOrThrow(authorize: Authorize, req: IncomingMessage, project: string, path: string): Promise<void> {
  const verdict = await authorize(req, project, path);
  if (verdict === 'unauthenticated') throw new AideError('UNAUTHENTICATED', 'credentials required');
  if (!verdict) throw new AideError('PERMISSION_DENIED', 'not allowed to read this project');
}

// Plain descriptors and callback fs: measurably cheaper per request than FileHandle's promise API.
const openFile = promisify(fs.open);
const closeFile = promisify(fs.close);
const fstat = promisify(fs.fstat);
const read = promisify(fs.read);

/** The whole of a small file of `size` bytes (its fstat, taken before reading). */
async function readWhole(fd: number, size: number, name: string): Promise<Buffer> {
  // Not from the shared pool: a cached small file must not pin a pool slab.
  const data = Buffer.allocUnsafeSlow(size);
  let filled = 0;
  while (filled < size) {
    const { bytesRead } = await read(fd, data, filled, size - filled, filled);
    // Shrunk under us (written in place): no version to serve consistently.
    if (bytesRead === 0) throw new AideError('INTERNAL', `'${name}' changed while being read`);
    filled += bytesRead;
  }
  return data;
}

const sendReply = (res: ServerResponse, reply: Reply, data?: Buffer): void => {
  res.writeHead(reply.status, reply.headers).end(reply.body && data?.subarray(reply.body.start, reply.body.end + 1));
};

/** A cached file with its headers computed once. */
type CachedVersion = CachedFile & { version: FileVersion };

/**
 * Answers from an open descriptor; returns the body stream to send, if any.
 * Small files are read whole (and cached); larger ones stream, and the stream
 * owns the descriptor from then on, closing it after any read still in
 * flight, so a client hanging up mid-body can never make us close an fd that
 * a read still uses.
 */
async function respond(
  req: IncomingMessage, res: ServerResponse, fd: number, file: ProjectPath, cache: FileCache<CachedVersion> | undefined,
): Promise<Readable | undefined> {
  const stats = await fstat(fd, { bigint: true });
  if (!stats.isFile()) throw notFound(`file '${file.relative}'`);
  const version = fileVersion(stats, file.relative);
  const reply = replyTo(req, version);
  if (!reply.body) {
    sendReply(res, reply);
    return undefined;
  }
  if (version.size <= SMALL_FILE_BYTES) {
    const data = await readWhole(fd, version.size, file.relative);
    cache?.admit(file.absolute, { stats, data, version });
    sendReply(res, reply, data);
    return undefined;
  }
  // Streams from the opened inode: a put renaming a new file into place mid-read cannot mix versions.
  res.writeHead(reply.status, reply.headers);
  const { start, end } = reply.body;
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
  const cacheBytes = options.cacheBytes ?? DEFAULT_HTTP_CACHE_BYTES;
  const cache = cacheBytes > 0 ? new FileCache<CachedVersion>(cacheBytes) : undefined;
  const targets = new LRUCache<string, Target>({ maxSize: TARGET_MEMORY_CHARS, sizeCalculation: (target, url) => charsOf(url, target) });
  const targetOf = (url: string): Target => {
    let target = targets.get(url);
    if (!target) targets.set(url, target = parseTarget(url, options.root));
    return target;
  };
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'Allow': 'GET, HEAD', 'Content-Length': 0 }).end();
      return;
    }
    const target = targetOf(req.url ?? '/');
    await authorizeOrThrow(authorize, req, target.project, target.path);
    // The common case first: a cached file on a path without symlinks (confined by lstats alone; such a
    // file is cached under its path as requested). Files not cached that way skip the lstats.
    const { file: lexicalFile } = target.lexical;
    const plain = cache?.peek(lexicalFile) ? plainFile(target.lexical) : undefined;
    const hit = plain && cache?.match(lexicalFile, plain);
    if (hit) {
      sendReply(res, replyTo(req, hit.version), hit.data);
      return;
    }
    const file = resolveSegments(options.root, target.project, target.segments);
    const cached = plain ? undefined : cache?.lookup(file.absolute);
    if (cached) {
      sendReply(res, replyTo(req, cached.version), cached.data);
      return;
    }
    let fd: number;
    try {
      fd = await openFile(file.absolute, 'r');
    } catch (err) {
      throw fsError(err, file.relative);
    }
    let body: Readable | undefined;
    try {
      body = await respond(req, res, fd, file, cache);
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

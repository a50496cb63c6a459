/**
 * Who may use the FileServer.
 *
 *   gRPC  mesh peers (CA-verified client certificates or the mesh token, see
 *         libs/auth/middleware.ts) may do anything; an API token needs 'viewer' on the request's project
 *         to read (GetFile, StatFile, ListFiles, ReadImage, ReadImages) and 'admin' to change
 *         files (PutFile, PutFiles, DeleteFile: images are managed by project admins);
 *         anyone else is UNAUTHENTICATED.
 *   HTTP  (browsers, read only) a URL signed by the controller (signed-url.ts),
 *         or an API token with 'viewer' on the project in the Authorization header.
 *
 * The gRPC check needs the request's project, which middleware does not see:
 * middleware establishes the principal, and a wrapper around the handlers
 * checks the role before each handler runs (for PutFile, on the header, its
 * first message, before any byte is written).
 */
import type { IncomingMessage } from 'node:http';
import { bearerOf } from '../../libs/auth/bearer.js';
import { authenticate } from '../../libs/auth/middleware.js';
import { hasRole, requireRole, type Role } from '../../libs/auth/roles.js';
import { migrateAuth } from '../../libs/auth/schema.js';
import type { MeshToken } from '../../libs/auth/mesh-token.js';
import { meshToken, urlSigningKey } from '../../libs/auth/settings.js';
import { queryOf, SignedUrlVerifier } from '../../libs/auth/signed-url.js';
import { TokenStore } from '../../libs/auth/tokens.js';
import type { Config } from '../../libs/config/config.js';
import { databaseOptions, openDatabase } from '../../libs/db/index.js';
import { invalidArgument } from '../../libs/errors.js';
import type { FileServiceService, PutFileRequest, PutFilesRequest } from '../../libs/gen/aide/v1/fileserver.js';
import type { CallContext, Middleware, ServiceHandlers } from '../../libs/grpc/index.js';
import type { Logger } from '../../libs/log.js';
import { certificatePeers } from '../../libs/service/mesh-access.js';
import { allowAll, type Authorize } from './http.js';
import { callProject } from './put-files.js';

type FileHandlers = ServiceHandlers<typeof FileServiceService>;

const READ: Role = 'viewer';
const WRITE: Role = 'admin';

export interface FileServerAccess {
  /** HTTP: signed URL or token. */
  authorize: Authorize;
  /** gRPC: establishes ctx.principal. */
  middleware: Middleware[];
  /** gRPC: the handlers with the role check in front of each. */
  guard(handlers: FileHandlers): FileHandlers;
}

export interface FileServerAccessOptions {
  /** Without a store, API tokens are refused. */
  tokens?: Pick<TokenStore, 'verify'>;
  /** Without a key, signed URLs are refused. */
  urlSigningKey?: Buffer;
  acceptPeers: boolean;
  /** Callers presenting it are mesh peers. */
  meshToken?: MeshToken;
}

/** Everything allowed: only for a process that embeds the whole mesh on loopback (the demo, tests). */
export const OPEN_FILE_ACCESS: FileServerAccess = {
  authorize: allowAll,
  middleware: [],
  guard: (handlers) => handlers,
};

function httpAuthorize(opts: FileServerAccessOptions): Authorize {
  const signed = opts.urlSigningKey ? new SignedUrlVerifier(opts.urlSigningKey) : undefined;
  return async (req: IncomingMessage, project, path) => {
    const url = req.url ?? '/';
    if (signed?.verify({ project, path }, url)) return true;
    // A URL that looks signed is judged as one: a bad signature is refused (403), not asked for credentials.
    const query = queryOf(url);
    if (query.has('sig') || query.has('exp')) return false;
    const bearer = bearerOf(req.headers.authorization);
    if (bearer.kind !== 'secret' || !opts.tokens) return 'unauthenticated';
    const principal = await opts.tokens.verify(bearer.secret);
    return principal ? hasRole(principal, project, READ) : 'unauthenticated';
  };
}

const check = (ctx: CallContext, project: string, role: Role): void => requireRole(ctx.principal, project, role);

/** A server stream whose check runs at the first pull, before the handler starts. */
async function* checkedStream<T>(checkNow: () => void, stream: () => AsyncIterable<T>): AsyncGenerator<T> {
  checkNow();
  yield* stream();
}

/** PutFiles' requests, the first message's project checked for WRITE before the handler sees it (later ones must repeat it or leave it empty). */
async function* checkedPutMany(requests: AsyncIterable<PutFilesRequest>, ctx: CallContext): AsyncGenerator<PutFilesRequest> {
  let project: string | undefined;
  for await (const request of requests) {
    if (project === undefined) {
      project = request.project;
      check(ctx, project, WRITE);
    } else {
      callProject(project, request);
    }
    yield request;
  }
}

/** PutFile's requests, the header checked for WRITE on its project before the handler sees it. */
async function* checkedPut(requests: AsyncIterable<PutFileRequest>, ctx: CallContext): AsyncGenerator<PutFileRequest> {
  let first = true;
  for await (const request of requests) {
    if (first) {
      if (request.payload?.$case !== 'header') throw invalidArgument('the first message must be the header');
      check(ctx, request.payload.value.project, WRITE);
      first = false;
    }
    yield request;
  }
}

function guard(h: FileHandlers): FileHandlers {
  return {
    getFile: (req, ctx) => checkedStream(() => check(ctx, req.project, READ), () => h.getFile(req, ctx)),
    readImage: (req, ctx) => checkedStream(() => check(ctx, req.project, READ), () => h.readImage(req, ctx)),
    readImages: (req, ctx) => checkedStream(() => check(ctx, req.project, READ), () => h.readImages(req, ctx)),
    statFile: async (req, ctx) => { check(ctx, req.project, READ); return h.statFile(req, ctx); },
    listFiles: async (req, ctx) => { check(ctx, req.project, READ); return h.listFiles(req, ctx); },
    deleteFile: async (req, ctx) => { check(ctx, req.project, WRITE); return h.deleteFile(req, ctx); },
    putFile: (requests, ctx) => h.putFile(checkedPut(requests, ctx), ctx),
    putFiles: (requests, ctx) => h.putFiles(checkedPutMany(requests, ctx), ctx),
  };
}

export function fileServerAccess(opts: FileServerAccessOptions): FileServerAccess {
  return {
    authorize: httpAuthorize(opts),
    middleware: [authenticate({ tokens: opts.tokens, acceptPeers: opts.acceptPeers, meshToken: opts.meshToken })],
    guard,
  };
}

/**
 * The access a FileServer process takes from its settings: tokens from
 * [Database] (none without a url: an embedded database of its own would hold
 * no tokens), signed URLs with [FileServer] url_signing_key, mesh peers by
 * certificate when [Security] tls_ca turns mTLS on and by [Security] mesh_token.
 */
export async function openFileServerAccess(config: Config, logger: Logger): Promise<FileServerAccess & { close(): Promise<void> }> {
  const db = config.has('Database', 'url') ? await openDatabase({ ...databaseOptions(config), logger }) : undefined;
  if (db) await migrateAuth(db.pool);
  else logger.warn('no [Database] url: the FileServer accepts no API tokens');
  const access = fileServerAccess({
    tokens: db && new TokenStore(db.pool),
    urlSigningKey: urlSigningKey(config),
    acceptPeers: certificatePeers(config),
    meshToken: meshToken(config),
  });
  return { ...access, close: async () => { await db?.close(); } };
}

/**
 * The state lane's requests (libs/state-lane/protocol.ts): a state's bytes
 * over plain HTTP/2, with the gRPC API's tokens, roles, checks and audit.
 */
import { once } from 'node:events';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type pg from 'pg';
import { actorOf, recordAudit } from '../../../libs/auth/audit.js';
import { principalOf, type AuthenticateOptions } from '../../../libs/auth/middleware.js';
import { requireRole } from '../../../libs/auth/roles.js';
import { checkedPieces, type VerifiedPieces } from '../../../libs/blob/index.js';
import { AideError, invalidArgument, notFound } from '../../../libs/errors.js';
import { ModelStateInfo } from '../../../libs/gen/aide/v1/common.js';
import { ImportModelStateHeader } from '../../../libs/gen/aide/v1/controller.js';
import type { Principal } from '../../../libs/grpc/context.js';
import type { Logger } from '../../../libs/log.js';
import type { Registry } from '../../../libs/plugin/registry.js';
import { HTTP_STATUS, IMPORT_HEADER, parseRoute, SHA256_FIELD, STATE_HEADER } from '../../../libs/state-lane/protocol.js';
import { openState, type StateStore } from '../store/model-states.js';
import { stateInfoToProto } from '../wire/model-state.js';
import { id as uuidField } from './fields.js';
import { storeImport } from './model-state-import.js';

export interface StateLaneDeps {
  pool: pg.Pool;
  states: StateStore;
  registry: Registry;
  auth: AuthenticateOptions;
  maxStateBytes: number;
  logger: Logger;
}

const one = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** A request's trailers, caught from its first moment: a small body and its trailers can arrive while the request is still being authorized. */
interface Trailers {
  sha256?: string;
}

function catchTrailers(stream: ServerHttp2Stream): Trailers {
  const trailers: Trailers = {};
  stream.once('trailers', (t: IncomingHttpHeaders) => { trailers.sha256 = one(t[SHA256_FIELD]); });
  return trailers;
}

/** The body: exactly content-length bytes, checked against the aide-sha256 trailer before its last piece (checkedPieces). */
function verifiedBody(stream: ServerHttp2Stream, size: number, trailers: Trailers): VerifiedPieces {
  // Not destroyed when the store stops reading early: the error still gets its answer.
  const body = stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>;
  return checkedPieces(body, {
    size, expected: () => (trailers.sha256 === undefined ? undefined : Buffer.from(trailers.sha256, 'hex')), what: 'the body', digest: `its ${SHA256_FIELD} trailer`,
  });
}

function importHeader(headers: IncomingHttpHeaders, project: string): ImportModelStateHeader {
  const raw = one(headers[IMPORT_HEADER]);
  if (raw === undefined) throw invalidArgument(`the ${IMPORT_HEADER} header is required`);
  let header: ImportModelStateHeader;
  try {
    header = ImportModelStateHeader.fromJSON(JSON.parse(raw));
  } catch (err) {
    throw invalidArgument(`${IMPORT_HEADER} is not an ImportModelStateHeader as JSON: ${(err as Error).message}`);
  }
  const length = Number(one(headers['content-length']));
  if (!Number.isSafeInteger(length) || length < 0) throw invalidArgument('content-length is required');
  if (header.project !== project) throw invalidArgument(`${IMPORT_HEADER} names project '${header.project}', the path '${project}'`);
  if (header.size !== length) throw invalidArgument(`${IMPORT_HEADER} announces ${header.size} bytes, content-length ${length}`);
  return header;
}

async function put(deps: StateLaneDeps, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, project: string, trailers: Trailers): Promise<ModelStateInfo> {
  const header = importHeader(headers, project);
  return stateInfoToProto(await storeImport(deps.states, deps.registry, header, verifiedBody(stream, header.size, trailers), { maxBytes: deps.maxStateBytes }));
}

async function get(stream: ServerHttp2Stream, deps: StateLaneDeps, project: string, id: string): Promise<void> {
  const { info, chunks } = await openState(deps.states, project, uuidField('id', id));
  stream.respond({
    ':status': 200, 'content-type': 'application/octet-stream', 'content-length': info.sizeBytes,
    [SHA256_FIELD]: info.sha256.toString('hex'), [STATE_HEADER]: JSON.stringify(ModelStateInfo.toJSON(stateInfoToProto(info))),
  });
  // A client gone mid-download closes the stream: the read stops there (and its file with it).
  const gone = once(stream, 'close');
  for await (const piece of chunks) {
    if (stream.destroyed) return;
    if (!stream.write(piece) && await Promise.race([once(stream, 'drain').then(() => false), gone.then(() => true)])) return;
  }
  stream.end();
}

function answerError(stream: ServerHttp2Stream, err: unknown, logger: Logger): void {
  const known = err instanceof AideError ? err : undefined;
  if (!known) logger.error({ err }, 'state lane request failed');
  if (stream.destroyed) return;
  if (stream.headersSent) {
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR); // the client sees the body cut, never a complete-looking one
    return;
  }
  const kind = known?.kind ?? 'INTERNAL';
  stream.respond({ ':status': HTTP_STATUS[kind], 'content-type': 'application/json' });
  // Answered before the body was read: the stream is reset once the answer is out, so the client stops sending.
  stream.end(JSON.stringify({ code: kind, message: known?.message ?? 'internal error' }), () => stream.close(http2.constants.NGHTTP2_NO_ERROR));
}

async function handle(deps: StateLaneDeps, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, trailers: Trailers): Promise<void> {
  const route = parseRoute(one(headers[':path']) ?? '');
  const method = one(headers[':method']);
  if (!route || (method === 'PUT') === (route.id !== undefined) || (method !== 'PUT' && method !== 'GET')) {
    throw notFound(`${method} ${one(headers[':path'])}`);
  }
  const principal: Principal = await principalOf([one(headers.authorization) ?? ''].filter(Boolean), undefined, deps.auth);
  requireRole(principal, route.project, 'admin');
  const audit = (action: string, target: string) => recordAudit(deps.pool, { actor: actorOf(principal), action, project: route.project, target, details: { lane: 'http2' } })
    .catch((err: unknown) => deps.logger.error({ err, action }, 'audit event not recorded'));
  if (method === 'GET') {
    await get(stream, deps, route.project, route.id!);
    await audit('model_state.export', route.id!);
    return;
  }
  const info = await put(deps, stream, headers, route.project, trailers);
  await audit('model_state.import', info.id);
  stream.respond({ ':status': 200, 'content-type': 'application/json' });
  stream.end(JSON.stringify(ModelStateInfo.toJSON(info)));
}

/** The lane's stream handler for an HTTP/2 server. */
export function stateLaneHandler(deps: StateLaneDeps): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void {
  return (stream, headers) => {
    stream.on('error', () => {}); // a client gone mid-transfer: the request's own iteration reports it
    handle(deps, stream, headers, catchTrailers(stream)).catch((err: unknown) => answerError(stream, err, deps.logger));
  };
}

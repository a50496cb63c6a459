/**
 * The state lane: a model state's bytes over plain HTTP/2 beside the gRPC API
 * (grpc-js reassembles every message in JavaScript, which caps a large upload
 * well below what the socket carries; bench/RESULTS.md). Same tokens, roles
 * and checks as ImportModelState / ExportModelState:
 *
 *   PUT /v1/projects/{project}/model-states
 *     authorization: Bearer <token>; content-length; aide-import: the ImportModelStateHeader as JSON
 *     body: the bytes; trailer aide-sha256: their SHA-256 (hex), checked before anything is stored
 *     → 200, the stored ModelStateInfo as JSON
 *   GET /v1/projects/{project}/model-states/{id}
 *     → 200, content-length, aide-sha256 (the stored digest), aide-state (ModelStateInfo as JSON), the bytes
 *
 * A failure answers its status with `{ "code": "<gRPC code name>", "message": … }`.
 */
import type { ErrorKind } from '../errors.js';

export const IMPORT_HEADER = 'aide-import';
export const SHA256_FIELD = 'aide-sha256';
export const STATE_HEADER = 'aide-state';

export const statesPath = (project: string): string => `/v1/projects/${encodeURIComponent(project)}/model-states`;
export const statePath = (project: string, id: string): string => `${statesPath(project)}/${encodeURIComponent(id)}`;

/** The route of a request path: its project, and the state's id for a GET. */
export function parseRoute(path: string): { project: string; id?: string } | undefined {
  const m = /^\/v1\/projects\/([^/]+)\/model-states(?:\/([^/]+))?$/.exec(path.split('?')[0]!);
  return m ? { project: decodeURIComponent(m[1]!), ...(m[2] !== undefined && { id: decodeURIComponent(m[2]) }) } : undefined;
}

/** HTTP statuses of the domain's errors (the body names the gRPC code itself). */
export const HTTP_STATUS: Record<ErrorKind, number> = {
  INVALID_ARGUMENT: 400, NOT_FOUND: 404, ALREADY_EXISTS: 409, PERMISSION_DENIED: 403, UNAUTHENTICATED: 401,
  RESOURCE_EXHAUSTED: 413, FAILED_PRECONDITION: 412, DATA_LOSS: 422, CANCELLED: 499, DEADLINE_EXCEEDED: 504,
  UNAVAILABLE: 503, INTERNAL: 500,
};

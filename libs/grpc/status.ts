import * as grpc from '@grpc/grpc-js';
import { isConnectionLoss } from '../db/sql.js';
import { AideError, type ErrorKind } from '../errors.js';
import { ErrorDetails } from '../gen/aide/v1/common.js';

/** Trailer carrying ErrorDetails (field violations) of an error status. */
export const ERROR_DETAILS_KEY = 'aide-error-bin';

const KINDS = new Set<ErrorKind>([
  'INVALID_ARGUMENT', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'UNAUTHENTICATED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'DATA_LOSS', 'CANCELLED', 'DEADLINE_EXCEEDED',
  'UNAVAILABLE', 'INTERNAL',
]);

/** Maps any thrown value to the status a client sees; field violations travel as a binary trailer. */
export function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (err instanceof AideError) {
    if (err.fieldViolations.length > 0) {
      metadata.set(ERROR_DETAILS_KEY, Buffer.from(ErrorDetails.encode({ fieldViolations: err.fieldViolations }).finish()));
    }
    return { code: grpc.status[err.kind], details: err.message, metadata };
  }
  const message = err instanceof Error ? err.message : String(err);
  // The database went away under the call: the client may try again (unary calls retry UNAVAILABLE), it is no bug.
  if (isConnectionLoss(err)) return { code: grpc.status.UNAVAILABLE, details: `the database connection was lost: ${message}`, metadata };
  return { code: grpc.status.INTERNAL, details: message, metadata };
}

/** The client-side inverse: a gRPC error becomes the AideError the server threw. */
export function fromServiceError(err: unknown): AideError {
  if (err instanceof AideError) return err;
  const e = err as Partial<grpc.ServiceError>;
  if (typeof e?.code !== 'number') return new AideError('INTERNAL', err instanceof Error ? err.message : String(err));
  const name = grpc.status[e.code] as ErrorKind;
  const kind: ErrorKind = KINDS.has(name) ? name : 'INTERNAL';
  const raw = e.metadata?.get(ERROR_DETAILS_KEY)[0];
  const violations = raw instanceof Buffer ? ErrorDetails.decode(raw).fieldViolations : [];
  return new AideError(kind, e.details ?? e.message ?? name, violations);
}

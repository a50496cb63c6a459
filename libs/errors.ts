/**
 * Domain errors. Plain functions throw these; the gRPC edge (libs/grpc/status.ts)
 * maps each to its status code, so no handler deals with codes itself.
 */

export interface FieldViolation {
  field: string;
  description: string;
}

export type ErrorKind =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'UNAUTHENTICATED'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'DATA_LOSS'
  | 'CANCELLED'
  | 'DEADLINE_EXCEEDED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export class AideError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly fieldViolations: FieldViolation[] = [],
  ) {
    super(message);
    this.name = `AideError(${kind})`;
  }
}

export const invalidArgument = (violations: FieldViolation[] | string, message?: string): AideError => {
  const list = typeof violations === 'string' ? [] : violations;
  const text = typeof violations === 'string'
    ? violations
    : (message ?? list.map((v) => `${v.field}: ${v.description}`).join('; '));
  return new AideError('INVALID_ARGUMENT', text, list);
};

/** One violation of one field: the common case. */
export const invalidField = (field: string, description: string): AideError =>
  invalidArgument([{ field, description }]);

export const notFound = (what: string): AideError => new AideError('NOT_FOUND', `${what} not found`);
export const alreadyExists = (what: string): AideError => new AideError('ALREADY_EXISTS', `${what} already exists`);
export const permissionDenied = (message: string): AideError => new AideError('PERMISSION_DENIED', message);
export const unauthenticated = (message: string): AideError => new AideError('UNAUTHENTICATED', message);
export const resourceExhausted = (message: string): AideError => new AideError('RESOURCE_EXHAUSTED', message);
export const failedPrecondition = (message: string): AideError => new AideError('FAILED_PRECONDITION', message);
export const dataLoss = (message: string): AideError => new AideError('DATA_LOSS', message);
export const cancelled = (message = 'cancelled'): AideError => new AideError('CANCELLED', message);
export const unavailable = (message: string): AideError => new AideError('UNAVAILABLE', message);

export const isAideError = (err: unknown, kind?: ErrorKind): err is AideError =>
  err instanceof AideError && (kind === undefined || err.kind === kind);

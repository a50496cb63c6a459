/**
 * Bulk statements' parameters: arrays sent as one literal joined at once,
 * not escaped element by element by the driver (the bulk writes and reads of
 * predictions, embeddings and priorities unnest them in Postgres).
 */

/** A float8[] or int[] literal: numbers print in their shortest exact form, NaN and ±Infinity as float8 reads them, null as NULL. */
export const numberArray = (xs: readonly (number | null)[]): string => `{${xs.map((x) => (x === null ? 'NULL' : x)).join(',')}}`;

/** A uuid[] literal: UUIDs need no quoting (a malformed one fails the statement: invalid input syntax for type uuid). */
export const uuidArray = (xs: readonly (string | null)[]): string => `{${xs.map((x) => x ?? 'NULL').join(',')}}`;

/** Bytes as the driver sends a bytea: a Buffer over the same memory, no copy. */
export const bufferOf = (u8: Uint8Array): Buffer => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);

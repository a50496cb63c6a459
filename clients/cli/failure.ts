import { CommanderError } from 'commander';
import { AideError } from '../../libs/errors.js';

/** A mistake in how the CLI was called, found after commander parsed it (an unreadable file, bad JSON): exit code 2. */
export class UsageError extends Error {}

/** The service a call went to could not be reached at all (as opposed to a service answering UNAVAILABLE). */
export class Unreachable extends Error {
  constructor(readonly service: string, readonly address: string, cause: AideError, readonly hint?: string) {
    // grpc-js ends its message with an empty "Resolution note:" and spreads OpenSSL's text over lines.
    const why = cause.message.replace(/\s*Resolution note:\s*$/, '').replace(/\s*\n\s*/g, ' ');
    super(`cannot reach the ${service} at ${address} (${why})`);
  }
}

export const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

/** What to tell the user about an error, and the exit code: 2 for bad arguments, 1 for everything else. */
export function describeFailure(err: unknown): { lines: string[]; exitCode: number } {
  // Commander has already printed its own message; only the code is left to decide (0 after --help).
  if (err instanceof CommanderError) return { lines: [], exitCode: err.exitCode === 0 ? 0 : EXIT_USAGE };
  if (err instanceof UsageError) return { lines: [`error: ${err.message}`], exitCode: EXIT_USAGE };
  if (err instanceof Unreachable) return { lines: [`error: ${err.message}`, ...(err.hint ? [`hint: ${err.hint}`] : [])], exitCode: EXIT_FAILED };
  if (err instanceof AideError) {
    const violations = err.fieldViolations.map((v) => `  ${v.field}: ${v.description}`);
    return { lines: [`error: ${err.kind}: ${err.message}`, ...violations], exitCode: EXIT_FAILED };
  }
  return { lines: [`error: ${err instanceof Error ? err.message : String(err)}`], exitCode: EXIT_FAILED };
}

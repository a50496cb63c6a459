/**
 * Telling a file that cannot be read as an image (missing, not an image: an
 * answer about the file, to report) from a read that failed (the FileServer
 * down or restarting: a failure of the work, to throw, so the job is retried
 * elsewhere or fails). Models report the first kind per image (InferenceResult
 * entries' and TrainResult's `unreadable`) and let the second propagate.
 */
import { isAideError } from '../errors.js';

/** The reason reported for a file that is not there, however the source said so. */
export const NOT_FOUND_REASON = 'not found';

/** Why the file can never be read as an image; undefined when the error is not such an answer and must propagate. */
export function unreadableReason(err: unknown): string | undefined {
  if (isAideError(err, 'NOT_FOUND')) return NOT_FOUND_REASON;
  // INVALID_ARGUMENT about the path is the FileServer's "not a readable image" (or too large to decode);
  // about anything else (a window, max_side) it is the caller's mistake, which must not pass for the file's.
  if (isAideError(err, 'INVALID_ARGUMENT') && err.fieldViolations.length > 0 && err.fieldViolations.every((v) => v.field === 'path')) {
    return err.fieldViolations.map((v) => v.description).join('; ');
  }
  return undefined;
}

/** Why one image of a batch read (FileSource.getImages, ReadImages) cannot be read, as a single read would say it. */
export const batchReadReason = (error: { code: string; message: string }): string => (error.code === 'NOT_FOUND' ? NOT_FOUND_REASON : error.message);

/** An image the model could not read, and why. */
export interface Unreadable {
  readonly unreadable: string;
}

export const isUnreadable = (x: object): x is Unreadable => 'unreadable' in x && typeof (x as Unreadable).unreadable === 'string';

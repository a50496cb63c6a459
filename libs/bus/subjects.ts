/**
 * NATS subject layout of the bus: `<prefix>.progress.<project>.<jobId>`.
 * project and jobId are single subject tokens; the prefix may have several.
 */
import { invalidField } from '../errors.js';

export const DEFAULT_SUBJECT_PREFIX = 'aide';

// '.', the wildcards '*' and '>', whitespace and control characters cannot be
// part of one subject token.
const BAD_TOKEN = /[.*>\s\u0000-\u001f\u007f]/u;

/** Throws INVALID_ARGUMENT unless `value` is one valid, non-empty subject token. */
export function assertToken(field: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0) throw invalidField(field, 'must not be empty');
  if (value.length > 256) throw invalidField(field, 'must be at most 256 characters');
  if (BAD_TOKEN.test(value)) {
    throw invalidField(field, `'${value}' must not contain '.', '*', '>', whitespace or control characters`);
  }
}

/** Validates a subject prefix: one or more dot-separated valid tokens. */
export function assertPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || prefix.length === 0) throw invalidField('subjectPrefix', 'must not be empty');
  for (const token of prefix.split('.')) assertToken('subjectPrefix', token);
}

/** The subject of one job's events. */
export function progressSubject(prefix: string, project: string, jobId: string): string {
  assertToken('project', project);
  assertToken('jobId', jobId);
  return `${prefix}.progress.${project}.${jobId}`;
}

/** The filter for every job of a project; project '*' = all projects. */
export function projectFilter(prefix: string, project: string): string {
  if (project === '*') return `${prefix}.progress.>`;
  assertToken('project', project);
  return `${prefix}.progress.${project}.*`;
}

/** What the prefix's stream captures. */
export function streamSubjects(prefix: string): string[] {
  return [`${prefix}.progress.>`];
}

/** The default stream name of a prefix: 'aide' → 'AIDE_PROGRESS', 'a.b' → 'A_B_PROGRESS'. */
export function defaultStreamName(prefix: string): string {
  return `${prefix.replace(/[^A-Za-z0-9_-]/g, '_').toUpperCase()}_PROGRESS`;
}

/** Validates a JetStream stream name. */
export function assertStreamName(name: string): void {
  if (typeof name !== 'string' || name.length === 0) throw invalidField('stream', 'must not be empty');
  if (/[.*>\s/\\\u0000-\u001f\u007f]/u.test(name)) {
    throw invalidField('stream', `'${name}' must not contain '.', '*', '>', '/', '\\' or whitespace`);
  }
}

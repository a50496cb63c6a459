/**
 * The one gate between a client's (project, path) and the disk, used by both
 * the gRPC and the HTTP transport. Lexical checks reject malformed input
 * (INVALID_ARGUMENT); realpath checks make anything resolving outside
 * <root>/<project>/ look missing (NOT_FOUND), so existence outside is never
 * confirmed. Messages carry the client's relative path only.
 */
import { lstatSync, realpathSync, type BigIntStats } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { invalidField, notFound } from '../errors.js';
import { fsError, isErrno } from './fs-errors.js';

export const PROJECT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const MAX_PATH_BYTES = 4096;
const MAX_SEGMENT_BYTES = 255;
// C0, DEL and C1 controls: never part of a legitimate file name.
const CONTROL_CHAR = /[\u0000-\u001f\u007f-\u009f]/;
const DRIVE_LETTER = /^[a-zA-Z]:/;

/** A path proven to lie inside its project's folder. */
export interface ProjectPath {
  project: string;
  /** Normalized '/'-separated path relative to the project folder; '' = the folder itself. */
  relative: string;
  /** Absolute location on disk (symlink-free for resolved paths). */
  absolute: string;
}

export function checkProject(project: string): string {
  if (!PROJECT_NAME.test(project)) {
    throw invalidField('project', 'must match [a-z0-9][a-z0-9_-]{0,62}');
  }
  return project;
}

/**
 * Lexical validation; returns the NFC-normalized segments. Callers that accept
 * the project folder itself (listing) pass allowEmpty.
 */
export function pathSegments(raw: string, field = 'path', allowEmpty = false): string[] {
  const text = raw.normalize('NFC');
  const reject = (why: string): never => { throw invalidField(field, why); };
  if (text === '') return allowEmpty ? [] : reject('must not be empty');
  if (Buffer.byteLength(text) > MAX_PATH_BYTES) reject('is too long');
  if (CONTROL_CHAR.test(text)) reject('must not contain control characters');
  if (text.includes('\\')) reject('must use "/" as separator');
  if (text.startsWith('/')) reject('must be relative');
  if (DRIVE_LETTER.test(text)) reject('must not start with a drive letter');
  const segments = text.split('/');
  for (const segment of segments) {
    if (segment === '' || segment === '.') reject('must not contain empty or "." segments');
    if (segment === '..') reject('must not contain ".." segments');
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) reject('has a name that is too long');
  }
  return segments;
}

const isInside = (dir: string, candidate: string): boolean =>
  candidate === dir || candidate.startsWith(dir + path.sep);

/**
 * realpath(3) on the calling thread. On the local disks the FileServer serves it
 * takes microseconds, a fifth of a hop through libuv's thread pool — which
 * every request of the HTTP edge pays (nginx, too, resolves and opens files in
 * its event loop).
 */
function realpathOf(target: string, relative: string): string {
  try {
    return realpathSync.native(target);
  } catch (err) {
    throw fsError(err, relative);
  }
}

const projectFolder = (root: string, project: string, relative: string): string =>
  realpathOf(path.join(root, checkProject(project)), relative);

/** An existing file or folder inside the project, all symlinks resolved. */
export function resolveExisting(
  root: string, project: string, raw: string, opts: { field?: string; allowEmpty?: boolean } = {},
): ProjectPath {
  return resolveSegments(root, project, pathSegments(raw, opts.field, opts.allowEmpty));
}

/** resolveExisting for segments that pathSegments has already validated. */
export function resolveSegments(root: string, project: string, segments: readonly string[]): ProjectPath {
  const relative = segments.join('/');
  const lexicalFolder = path.join(root, checkProject(project));
  const absolute = realpathOf(path.join(lexicalFolder, ...segments), relative);
  // A symlink-free path through <root>/<project>/ proves that folder a real directory holding the
  // target (root is symlink-free): one realpath suffices. Otherwise the project folder may itself
  // be a link (to another disk, say): compare with where it leads.
  if (!isInside(lexicalFolder, absolute) && !isInside(projectFolder(root, project, relative), absolute)) {
    throw notFound(`file '${relative}'`);
  }
  return { project, relative, absolute };
}

/** A file's location as written, before any symlink is resolved: the file and each folder above it from the project folder down. */
export interface LexicalPath {
  folders: string[];
  file: string;
}

/** The lexical path of validated segments (pathSegments) in a project. */
export function lexicalPath(root: string, project: string, segments: readonly string[]): LexicalPath {
  const folders = [path.join(root, checkProject(project))];
  for (const segment of segments.slice(0, -1)) folders.push(path.join(folders[folders.length - 1]!, segment));
  return { folders, file: path.join(folders[folders.length - 1]!, segments[segments.length - 1]!) };
}

/**
 * The lstat of a file reached without any symlink below root: each folder
 * from the project folder down is a real directory and the file a regular
 * file, so the lexical path is the real one and, its segments validated,
 * inside the project. One lstat per level instead of a realpath (a readlink
 * per component from /) and a stat. Undefined for anything else (a link on
 * the way, a missing entry): resolveSegments decides those.
 */
export function plainFile(at: LexicalPath): BigIntStats | undefined {
  for (const folder of at.folders) {
    if (!lstatSync(folder, { throwIfNoEntry: false })?.isDirectory()) return undefined;
  }
  const stats = lstatSync(at.file, { bigint: true, throwIfNoEntry: false });
  return stats?.isFile() ? stats : undefined;
}

/**
 * Where a file may be written: creates the parent folders one level at a time,
 * checking each level's realpath before creating the next beneath it, so a
 * symlinked folder pointing out can never make us create anything outside.
 * The target itself is not resolved: a rename onto it replaces a symlink, it
 * does not write through it.
 */
export async function resolveForWrite(root: string, project: string, raw: string): Promise<ProjectPath> {
  const segments = pathSegments(raw);
  const relative = segments.join('/');
  const projectDir = path.join(root, checkProject(project));
  try {
    await mkdir(projectDir, { recursive: true });
  } catch (err) {
    throw fsError(err, relative);
  }
  const folder = projectFolder(root, project, relative);
  let parent = folder;
  for (const segment of segments.slice(0, -1)) {
    const next = path.join(parent, segment);
    try {
      await mkdir(next);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw fsError(err, relative);
    }
    parent = realpathOf(next, relative);
    if (!isInside(folder, parent)) throw notFound(`folder of '${relative}'`);
  }
  return { project, relative, absolute: path.join(parent, segments[segments.length - 1]!) };
}

/**
 * An entry whose folder exists inside the project; the last component is not
 * followed, so deleting a symlink removes the link, never what it points to.
 */
export function resolveEntry(root: string, project: string, raw: string): ProjectPath {
  const segments = pathSegments(raw);
  const name = segments.pop()!;
  const parent = resolveExisting(root, project, segments.join('/'), { allowEmpty: true });
  return {
    project,
    relative: [...segments, name].join('/'),
    absolute: path.join(parent.absolute, name),
  };
}

import { AideError, notFound } from '../errors.js';

/**
 * Maps a Node fs error to a domain error that names only the client's
 * relative path: fs messages embed absolute server paths, which must never
 * reach a client.
 */
export function fsError(err: unknown, relative: string): AideError {
  if (err instanceof AideError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ELOOP':
    case 'ENAMETOOLONG':
      return notFound(`file '${relative}'`);
    case 'EISDIR':
      return new AideError('FAILED_PRECONDITION', `'${relative}' is a directory`);
    case 'ENOTEMPTY':
      return new AideError('FAILED_PRECONDITION', `'${relative}' is not empty`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new AideError('RESOURCE_EXHAUSTED', 'no space left on the file server');
    case 'EACCES':
    case 'EPERM':
      return new AideError('PERMISSION_DENIED', `'${relative}' is not accessible`);
    default:
      return new AideError('INTERNAL', `file system error (${code ?? 'unknown'}) on '${relative}'`);
  }
}

export const isErrno = (err: unknown, code: string): boolean =>
  (err as NodeJS.ErrnoException | undefined)?.code === code;

/**
 * A FileSource over a local folder laid out like the FileServer's root
 * (<root>/<project>/<path>): lets the local test tool and tests run models
 * without a FileServer. Uses the FileServer's own path gate, so what escapes
 * the project folder (absolute paths, "..", symlinks pointing out) reads as null.
 */
import { readFile } from 'node:fs/promises';
import { resolveExisting } from '../files/safe-path.js';
import type { FileSource } from './context.js';

export class LocalFileSource implements FileSource {
  constructor(
    private readonly root: string,
    private readonly project: string,
  ) {}

  /** The file's bytes; null if missing, unreadable or outside the project (as the seed's fileServer). */
  async getFile(path: string): Promise<Buffer | null> {
    try {
      const { absolute } = resolveExisting(this.root, this.project, path);
      return await readFile(absolute);
    } catch {
      return null;
    }
  }
}

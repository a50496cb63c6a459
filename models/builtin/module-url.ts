/**
 * URL of a sibling module for worker threads and dynamic imports, with the
 * caller's own extension: .ts when run through tsx, .js once compiled.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const siblingModule = (importMetaUrl: string, stem: string): URL =>
  new URL(`./${stem}${extname(fileURLToPath(importMetaUrl))}`, importMetaUrl);

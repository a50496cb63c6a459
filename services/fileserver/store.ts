import { mkdir, realpath } from 'node:fs/promises';
import { DEFAULT_CHUNK_SIZE } from '../../libs/blob/index.js';

/** Where the FileServer keeps every project's folder, and its limits. */
export interface FileStore {
  /** Symlink-free absolute path of the folder holding <project>/ folders. */
  root: string;
  /** Largest file a put may write, in bytes. */
  maxPutBytes: number;
  /** Payload bytes per streamed chunk. */
  chunkSize: number;
}

export interface FileStoreOptions {
  root: string;
  maxPutBytes?: number;
  chunkSize?: number;
}

export const DEFAULT_MAX_PUT_BYTES = 2 * 1024 ** 3;

/** Creates the root if needed and pins its real path, so later checks compare like with like. */
export async function openFileStore(options: FileStoreOptions): Promise<FileStore> {
  await mkdir(options.root, { recursive: true });
  return {
    root: await realpath(options.root),
    maxPutBytes: options.maxPutBytes ?? DEFAULT_MAX_PUT_BYTES,
    chunkSize: options.chunkSize ?? DEFAULT_CHUNK_SIZE,
  };
}

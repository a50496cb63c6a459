import { BlobFolder } from '../../libs/blob/index.js';

/**
 * The controller's state folder as this worker sees it ([AIWorker] state_dir,
 * a shared volume), found once the controller has opened it (it gives the
 * folder its id): until then every call asks again, and states stream through
 * the calls meanwhile. No folder configured: always undefined.
 */
export function sharedStateFolder(dir: string, opts: { sync: boolean }): () => Promise<BlobFolder | undefined> {
  if (!dir) return async () => undefined;
  let found: BlobFolder | undefined;
  return async () => (found ??= await BlobFolder.join(dir, opts));
}

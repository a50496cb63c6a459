import type { StatFileRequest, StatFileResponse } from '../../libs/gen/aide/v1/fileserver.js';
import { statPath, toFileInfo } from './file-info.js';
import { resolveExisting } from '../../libs/files/safe-path.js';
import type { FileStore } from './store.js';

export async function statFile(store: FileStore, req: StatFileRequest): Promise<StatFileResponse> {
  const target = resolveExisting(store.root, req.project, req.path);
  return { info: toFileInfo(target.relative, await statPath(target)) };
}

import { implement, type ImplementOptions, type ServiceEntry, type ServiceHandlers } from '../../libs/grpc/index.js';
import { FileServiceService } from '../../libs/gen/aide/v1/fileserver.js';
import { deleteFile } from './delete-file.js';
import { getFile } from './get-file.js';
import { listFiles } from './list-files.js';
import { chunkBytes, observedRead, pixelBytes } from './read-telemetry.js';
import { putFile } from './put-file.js';
import { putFiles } from './put-files.js';
import { readImage } from './read-image.js';
import { readImages } from './read-images.js';
import { statFile } from './stat-file.js';
import type { FileStore } from './store.js';

export const FILE_SERVICE_NAME = 'aide.v1.FileService';

const fileAttributes = (file: { project: string; path: string }) => ({ 'aide.project': file.project, 'aide.file.path': file.path });

/** The FileService methods bound to one store: the gRPC layer only adds transport. */
export function fileServiceHandlers(store: FileStore): ServiceHandlers<typeof FileServiceService> {
  return {
    getFile: (req, ctx) => observedRead('getFile', fileAttributes(req), getFile(store, req, ctx.signal), chunkBytes),
    statFile: (req) => statFile(store, req),
    listFiles: (req) => listFiles(store, req),
    putFile: (reqs, ctx) => putFile(store, reqs, ctx.signal),
    putFiles: (reqs, ctx) => putFiles(store, reqs, ctx.signal),
    deleteFile: (req) => deleteFile(store, req),
    readImage: (req, ctx) => observedRead('readImage', fileAttributes(req), readImage(store, req, ctx.signal), chunkBytes),
    readImages: (req, ctx) => observedRead('readImages', { 'aide.project': req.project, 'aide.file.count': req.paths.length },
      readImages(store, req, ctx.signal), pixelBytes),
  };
}

/** The FileService of one store, ready for startServer. */
export function fileServiceEntry(store: FileStore, options: ImplementOptions = {}): ServiceEntry {
  return {
    name: FILE_SERVICE_NAME,
    definition: FileServiceService,
    implementation: implement(FileServiceService, fileServiceHandlers(store), options),
  };
}

export {
  FileServerClient, type CallOpts, type FileServerClientOptions, type FileServiceClient, type ImageOptions, type ListOptions, type ReadImagesOptions,
} from './client.js';
export { ImageFormat, type FileInfo, type ImageInfo, type ImageWindow } from '../gen/aide/v1/fileserver.js';

import type { ChannelCredentials, Metadata } from '@grpc/grpc-js';
import { collectBlob, payload, StreamParts, toChunks } from '../blob/index.js';
import { isAideError, type ErrorKind } from '../errors.js';
import type { BlobChunk } from '../gen/aide/v1/common.js';
import { createClient, type Client } from '../grpc/index.js';
import {
  FileServiceService, ImageFormat, type FileInfo, type ImageInfo, type ImageWindow, type PutFileRequest,
} from '../gen/aide/v1/fileserver.js';

export type FileServiceClient = Client<typeof FileServiceService>;

export interface FileServerClientOptions {
  project: string;
  /** host:port of the FileServer; or share a channel across projects with `client`. */
  address?: string;
  client?: FileServiceClient;
  credentials?: ChannelCredentials;
  metadata?: Metadata;
  /** Largest file or image getFile / getImage accept, in bytes (default 2 GiB). */
  maxBytes?: number;
}

export interface CallOpts {
  signal?: AbortSignal;
}

export interface ImageOptions extends CallOpts {
  /** Longer side at most this many pixels (never enlarged); absent = keep. */
  maxSide?: number;
  /** Default raw interleaved RGB. */
  format?: ImageFormat;
  /** Crop in source pixels, applied before resizing. */
  window?: ImageWindow;
}

export interface ListOptions extends CallOpts {
  recursive?: boolean;
  pageSize?: number;
}

const DEFAULT_MAX_BYTES = 2 * 1024 ** 3;

/** What the seed's getFile reports as null rather than an error: missing, or not for this caller. */
const ABSENT: readonly ErrorKind[] = ['NOT_FOUND', 'INVALID_ARGUMENT', 'PERMISSION_DENIED', 'UNAUTHENTICATED'];

/** A response stream of GetFile / ReadImage: an info message, then chunks. */
type InfoThenChunks<I> = AsyncIterable<{ payload: { $case: 'info'; value: I } | { $case: 'chunk'; value: BlobChunk } | undefined }>;

/** Info message, then the chunks reassembled into one buffer. */
async function infoAndBytes<I>(
  stream: InfoThenChunks<I>,
  maxSize: number,
  signal: AbortSignal | undefined,
): Promise<{ info: I; data: Buffer }> {
  const parts = new StreamParts(stream);
  const info = await parts.take(payload('info'), 'info');
  const data = await collectBlob(parts.chunks(payload('chunk')), { maxSize, signal });
  await parts.end('the data');
  return { info, data };
}

/**
 * One project's files on the FileServer, as models and services use them:
 * getFile follows the seed's contract (bytes, or null when missing or not
 * allowed); everything else throws AideErrors.
 */
export class FileServerClient {
  readonly project: string;
  readonly #client: FileServiceClient;
  readonly #ownsClient: boolean;
  readonly #maxBytes: number;

  constructor(options: FileServerClientOptions) {
    if (!options.client && !options.address) throw new TypeError('FileServerClient needs an address or a client');
    this.project = options.project;
    this.#ownsClient = !options.client;
    this.#client = options.client
      ?? createClient(FileServiceService, options.address!, { credentials: options.credentials, metadata: options.metadata });
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  }

  /** The file's bytes, or null when it is missing or this caller may not read it. */
  async getFile(path: string, opts: CallOpts = {}): Promise<Buffer | null> {
    try {
      const stream = this.#client.getFile({ project: this.project, path, offset: 0, length: 0 }, { signal: opts.signal });
      return (await infoAndBytes(stream, this.#maxBytes, opts.signal)).data;
    } catch (err) {
      if (ABSENT.some((kind) => isAideError(err, kind))) return null;
      throw err;
    }
  }

  /** The image decoded by the server: pixels (raw RGB by default) and their dimensions. */
  async getImage(path: string, opts: ImageOptions = {}): Promise<{ info: ImageInfo; data: Buffer }> {
    const stream = this.#client.readImage({
      project: this.project,
      path,
      maxSide: opts.maxSide ?? 0,
      format: opts.format ?? ImageFormat.IMAGE_FORMAT_RAW_RGB,
      window: opts.window,
    }, { signal: opts.signal });
    return infoAndBytes(stream, this.#maxBytes, opts.signal);
  }

  /** Writes a file atomically; a stream of pieces needs its total size up front. */
  async putFile(path: string, content: Uint8Array, opts?: CallOpts): Promise<FileInfo>;
  async putFile(path: string, content: AsyncIterable<Uint8Array>, opts: CallOpts & { size: number }): Promise<FileInfo>;
  async putFile(path: string, content: Uint8Array | AsyncIterable<Uint8Array>, opts: CallOpts & { size?: number } = {}): Promise<FileInfo> {
    const size = content instanceof Uint8Array ? content.byteLength : opts.size!;
    const project = this.project;
    async function* requests(): AsyncGenerator<PutFileRequest> {
      yield { payload: { $case: 'header', value: { project, path, size } } };
      for await (const chunk of toChunks(content, { totalSize: size })) yield { payload: { $case: 'chunk', value: chunk } };
    }
    const res = await this.#client.putFile(requests(), { signal: opts.signal });
    return res.info!;
  }

  /** The file's info, or null when it is missing or this caller may not see it. */
  async stat(path: string, opts: CallOpts = {}): Promise<FileInfo | null> {
    try {
      return (await this.#client.statFile({ project: this.project, path }, { signal: opts.signal })).info ?? null;
    } catch (err) {
      if (ABSENT.some((kind) => isAideError(err, kind))) return null;
      throw err;
    }
  }

  async delete(path: string, opts: CallOpts = {}): Promise<void> {
    await this.#client.deleteFile({ project: this.project, path }, { signal: opts.signal });
  }

  /** Every entry under the prefix, page after page, fetched as the caller iterates. */
  async *list(prefix = '', opts: ListOptions = {}): AsyncGenerator<FileInfo> {
    let pageToken = '';
    do {
      const page = await this.#client.listFiles({
        project: this.project, prefix, recursive: opts.recursive ?? false, pageSize: opts.pageSize ?? 0, pageToken,
      }, { signal: opts.signal });
      yield* page.files;
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
  }

  /** Closes the channel if this client opened it. */
  close(): void {
    if (this.#ownsClient) this.#client.close();
  }
}

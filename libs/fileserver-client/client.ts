import { setTimeout as sleep } from 'node:timers/promises';
import { createHash } from 'node:crypto';
import type { ChannelCredentials, Metadata } from '@grpc/grpc-js';
import pRetry from 'p-retry';
import { collectBlob, payload, StreamParts, toChunks } from '../blob/index.js';
import { dataLoss, isAideError, type ErrorKind } from '../errors.js';
import type { ImageBatchOptions, ImageResult } from '../plugin/context.js';
import type { BlobChunk } from '../gen/aide/v1/common.js';
import { createClient, type Client } from '../grpc/client.js';
import {
  FileServiceService, ImageFormat, type FileInfo, type ImageInfo, type ImageWindow, type PutFileRequest, type PutFilesEntry,
  type PutFilesRequest,
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
  /** How reads ride out a FileServer that is briefly gone (default: 4 retries from 200 ms, doubling up to 3 s). */
  retry?: ReadRetry;
}

/** Backoff of getFile / getImage / imageSize on transport failures (p-retry's options; unary calls such as stat retry UNAVAILABLE in the channel). */
export interface ReadRetry {
  retries: number;
  minTimeout: number;
  maxTimeout: number;
}

const DEFAULT_RETRY: ReadRetry = { retries: 4, minTimeout: 200, maxTimeout: 3000 };

/**
 * Failures of the connection rather than answers about the file: the peer
 * gone or restarting (UNAVAILABLE; CANCELLED or INTERNAL when it dies
 * mid-stream), too slow (DEADLINE_EXCEEDED), or a transfer that arrived broken
 * (DATA_LOSS). Worth another try; NOT_FOUND, INVALID_ARGUMENT and the like
 * are answers and are not.
 */
const TRANSIENT: readonly ErrorKind[] = ['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'CANCELLED', 'INTERNAL', 'DATA_LOSS'];

export const isTransientReadError = (err: unknown): boolean => TRANSIENT.some((kind) => isAideError(err, kind));

export interface CallOpts {
  signal?: AbortSignal;
}

export interface ImageOptions extends CallOpts {
  /**
   * Only this rectangle of the source, in source pixels: columns
   * [left, left + width), rows [top, top + height), (0, 0) top left. It must
   * lie inside the image (width, height ≥ 1), else INVALID_ARGUMENT naming
   * the field (window.left, window.width, ...). Cropped before resizing, and
   * only what the format allows to skip is decoded (see getImage).
   */
  window?: ImageWindow;
  /** Longer side (of the window, if any) at most this many pixels, aspect kept, never enlarged; absent or 0 = keep. */
  maxSide?: number;
  /** Default raw interleaved 8-bit RGB, row-major; or PNG / JPEG bytes. */
  format?: ImageFormat;
}

/** getImages' options: a model's (ImageBatchOptions), or only the sizes, for registration. */
export interface ReadImagesOptions extends ImageBatchOptions {
  /**
   * No pixels (`data` empty): each image's size in info.sourceWidth × sourceHeight, once the server has checked
   * the file reads as an image (ReadImages' sizes_only). maxSide is still sent: a server that predates
   * sizes_only decodes at it instead, which gives the same sizes and errors.
   */
  sizesOnly?: boolean;
}

export interface ListOptions extends CallOpts {
  recursive?: boolean;
  pageSize?: number;
}

const DEFAULT_MAX_BYTES = 2 * 1024 ** 3;
/** PutFiles messages carry about this many bytes of files; larger files alone, up to PUT_FILES_MAX_FILE. */
export const PUT_FILES_MESSAGE_BYTES = 1 << 20;
/** Larger files go through PutFile (a message is at most 4 MiB). */
export const PUT_FILES_MAX_FILE = 3 << 20;
/** Paths per ReadImages call: the server decodes ahead within a call, so few calls suffice. */
export const READ_IMAGES_BATCH = 1024;

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
 * allowed); everything else throws AideErrors. Reads are retried while they
 * fail in transit and then throw: never null for a FileServer that is down.
 */
export class FileServerClient {
  readonly project: string;
  readonly #client: FileServiceClient;
  readonly #ownsClient: boolean;
  readonly #maxBytes: number;
  readonly #retry: ReadRetry;

  constructor(options: FileServerClientOptions) {
    if (!options.client && !options.address) throw new TypeError('FileServerClient needs an address or a client');
    this.project = options.project;
    this.#ownsClient = !options.client;
    this.#client = options.client
      ?? createClient(FileServiceService, options.address!, { credentials: options.credentials, metadata: options.metadata });
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.#retry = options.retry ?? DEFAULT_RETRY;
  }

  /**
   * A read, tried again with backoff while it fails in transit; the last
   * transport error is thrown, so a caller never mistakes a FileServer that
   * is down for a file that is missing. The caller's own abort is not retried.
   */
  #retried<T>(read: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    return pRetry(read, {
      ...this.#retry,
      signal,
      shouldRetry: (err) => !signal?.aborted && isTransientReadError(err),
    });
  }

  /** The file's bytes, or null when it is missing or this caller may not read it. */
  async getFile(path: string, opts: CallOpts = {}): Promise<Buffer | null> {
    try {
      return await this.#retried(async () => {
        const stream = this.#client.getFile({ project: this.project, path, offset: 0, length: 0 }, { signal: opts.signal });
        return (await infoAndBytes(stream, this.#maxBytes, opts.signal)).data;
      }, opts.signal);
    } catch (err) {
      if (ABSENT.some((kind) => isAideError(err, kind))) return null;
      throw err;
    }
  }

  /**
   * The image decoded by the server: `data` holds the pixels (raw RGB by
   * default: info.width × info.height × 3 bytes), `info` their size and the
   * source's (sourceWidth, sourceHeight) and the source rectangle they show
   * (info.window, the whole image without a window).
   *
   * Tiling a large image (an orthoimage) for detection: learn its size
   * cheaply, then read window after window; only one window's pixels are in
   * memory on either side at a time. A tiled TIFF decodes just the tiles a
   * window touches; PNG and JPEG are decoded top to bottom down to the
   * window's last row, a strip at a time (so later rows cost more time, not
   * memory). Inputs up to 2^30 pixels are accepted; one answer holds at most
   * 16383² pixels.
   *
   *   const size = await files.imageSize(path);
   *   for (let top = 0; top < size.height; top += 1024) {
   *     for (let left = 0; left < size.width; left += 1024) {
   *       const window = { left, top, width: Math.min(1024, size.width - left), height: Math.min(1024, size.height - top) };
   *       const { info, data } = await files.getImage(path, { window, maxSide: 512 });
   *       // output pixel (x, y) shows source pixel (left + x × window.width / info.width, top + y × window.height / info.height)
   *     }
   *   }
   *
   * Throws AideErrors: NOT_FOUND (missing or outside the project),
   * INVALID_ARGUMENT (not a readable raster image, or a bad window / maxSide,
   * the field named in fieldViolations), PERMISSION_DENIED / UNAUTHENTICATED;
   * a transport failure (isTransientReadError) once the retries are spent.
   */
  async getImage(path: string, opts: ImageOptions = {}): Promise<{ info: ImageInfo; data: Buffer }> {
    return this.#retried(() => {
      const stream = this.#client.readImage({
        project: this.project,
        path,
        maxSide: opts.maxSide ?? 0,
        format: opts.format ?? ImageFormat.IMAGE_FORMAT_RAW_RGB,
        window: opts.window,
      }, { signal: opts.signal });
      return infoAndBytes(stream, this.#maxBytes, opts.signal);
    }, opts.signal);
  }

  /** An image's size in pixels, cheaply: decodes only its top-left pixel (getImage's errors). */
  async imageSize(path: string, opts: CallOpts = {}): Promise<{ width: number; height: number }> {
    const { info } = await this.getImage(path, { ...opts, window: { left: 0, top: 0, width: 1, height: 1 } });
    return { width: info.sourceWidth, height: info.sourceHeight };
  }

  /**
   * Images decoded by the server to raw RGB at a model's input size (see ImageBatchOptions), in the order of
   * `paths`, as they arrive: calls of up to READ_IMAGES_BATCH paths, each decoded several at a time on the
   * server. A missing or undecodable image comes with its error and the rest go on; a stream cut in transit is
   * resumed after the last image received (the retries of getImage), then throws; anything else throws.
   */
  async *getImages(paths: readonly string[], opts: ReadImagesOptions): AsyncGenerator<ImageResult> {
    // A stream cut in transit resumes after the last image received, with backoff; retries count since the last image.
    let next = 0;
    let failures = 0;
    while (next < paths.length) {
      try {
        for await (const result of this.#readImages(paths, next, opts)) {
          next++;
          failures = 0;
          yield result;
        }
      } catch (err) {
        if (opts.signal?.aborted || !isTransientReadError(err) || failures >= (this.#retry.retries ?? 0)) throw err;
        const { minTimeout = 200, maxTimeout = 3000 } = this.#retry;
        await sleep(Math.min(maxTimeout, minTimeout * 2 ** failures++), undefined, { signal: opts.signal });
      }
    }
  }

  /** One ReadImages call: up to READ_IMAGES_BATCH of `paths` from `start`, checked to come in order and complete. */
  async *#readImages(paths: readonly string[], start: number, opts: ReadImagesOptions): AsyncGenerator<ImageResult> {
    const batch = paths.slice(start, start + READ_IMAGES_BATCH);
    const stream = this.#client.readImages({
      project: this.project, paths: batch, maxSide: opts.maxSide, squash: opts.squash ?? false, sizesOnly: opts.sizesOnly ?? false,
    }, { signal: opts.signal });
    let expected = 0;
    for await (const { images } of stream) {
      for (const { index, result, pixels } of images) {
        if (index !== expected++ || !result) throw dataLoss(`ReadImages answered image ${index} where ${expected - 1} was due`);
        const path = batch[index]!;
        yield result.$case === 'info'
          ? { index: start + index, path, image: { info: result.value, data: Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength) } }
          : { index: start + index, path, error: { code: result.value.code === 'NOT_FOUND' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', message: result.value.message } };
      }
    }
    if (expected !== batch.length) throw dataLoss(`ReadImages ended after ${expected} of ${batch.length} images`);
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

  /**
   * Many small files in one PutFiles stream (with their SHA-256, several to a message of about
   * PUT_FILES_MESSAGE_BYTES, each written atomically); a file larger than PUT_FILES_MAX_FILE goes through
   * putFile on its own. `onSent` counts the files handed to the stream so far (for a progress bar).
   */
  async putFiles(
    files: AsyncIterable<{ path: string; content: Uint8Array }> | Iterable<{ path: string; content: Uint8Array }>,
    opts: CallOpts & { onSent?: (files: number) => void } = {},
  ): Promise<{ files: number; bytes: number }> {
    const project = this.project;
    let sent = 0;
    let large = { files: 0, bytes: 0 };
    const put = (path: string, content: Uint8Array) => this.putFile(path, content, opts);
    async function* requests(): AsyncGenerator<PutFilesRequest> {
      let batch: PutFilesEntry[] = [];
      let bytes = 0;
      const flush = function* () {
        if (batch.length === 0) return;
        yield { project, files: batch };
        sent += batch.length;
        opts.onSent?.(sent);
        batch = [];
        bytes = 0;
      };
      for await (const { path, content } of files) {
        if (content.byteLength > PUT_FILES_MAX_FILE) {
          await put(path, content);
          large = { files: large.files + 1, bytes: large.bytes + content.byteLength };
          opts.onSent?.(++sent);
          continue;
        }
        if (bytes + content.byteLength > PUT_FILES_MESSAGE_BYTES) yield* flush();
        batch.push({ path, content: Buffer.from(content.buffer, content.byteOffset, content.byteLength), sha256: createHash('sha256').update(content).digest() });
        bytes += content.byteLength;
      }
      yield* flush();
    }
    const res = await this.#client.putFiles(requests(), { signal: opts.signal });
    return { files: res.files + large.files, bytes: res.bytes + large.bytes };
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

/**
 * What a model or ranker is constructed with: the seed's (project, config,
 * dbConnector, fileServer, options). Typed as small interfaces so plugins do
 * not depend on the concrete Config, database or FileServer client.
 */

export type PropertyType = 'str' | 'int' | 'float' | 'bool';

/** libs/config's Config as a plugin sees it: getProperty('AIController', 'x', 'str', fallback). */
export interface ConfigLike {
  /** Throws when the key is missing and no fallback is given. */
  getProperty(section: string, key: string, type?: PropertyType, fallback?: unknown): unknown;
}

/** How many rows execute() returns: all, one, or at most n; null = none (statements). */
export type NumReturn = 'all' | 'one' | number | null;

/** Access to the project database; rarely needed (the worker stores states and predictions). */
export interface DbConnectorLike {
  /** Parameterized SQL ($1, $2, …); rows as plain objects. */
  execute(sql: string, args?: readonly unknown[] | null, numReturn?: NumReturn): Promise<Record<string, unknown>[] | null | undefined>;
}

/** Pixels of the source image; left/top = the window's corner. */
export interface ImageWindow {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface ImageReadOptions {
  /** Resize so the longer side is at most this. */
  maxSide?: number;
  /** Crop (pixels) before resizing. */
  window?: ImageWindow;
}

export interface DecodedImage {
  /** sourceWidth/sourceHeight: the whole source image's size, where the source reports it (the FileServer does). */
  info: { width: number; height: number; channels: number; sourceWidth?: number; sourceHeight?: number };
  /** Interleaved pixels (RGB unless asked otherwise), row-major. */
  data: Buffer;
}

export interface ImageBatchOptions {
  /** Longer side at most this (1 to 1024), aspect kept, never enlarged; with `squash` exactly maxSide × maxSide. */
  maxSide: number;
  /** Resize to maxSide × maxSide, aspect not kept (the built-in models' input). */
  squash?: boolean;
  signal?: AbortSignal;
}

/** One image of a batch read: its pixels (raw RGB), or why it cannot be read. */
export type ImageResult = { index: number; path: string } & (
  | { image: DecodedImage; error?: undefined }
  | { image?: undefined; error: { code: 'NOT_FOUND' | 'INVALID_ARGUMENT'; message: string } }
);

/**
 * Files of the project the plugin runs in. Paths are relative to the project's
 * folder; absolute paths, ".." and anything missing or unreadable give null.
 * A read that fails in transit (the FileServer down) is retried and then
 * throws: let it propagate, so the job fails and is retried, never report it
 * as a missing image.
 */
export interface FileSource {
  getFile(path: string): Promise<Buffer | null>;
  /**
   * Decoded pixels, where the source can decode server-side. Throws where
   * getFile gives null and for a file that is not a readable image:
   * unreadableReason(err) says why; an error it gives no reason for is a
   * failure of the read itself.
   */
  getImage?(path: string, opts?: ImageReadOptions): Promise<DecodedImage>;
  /**
   * Many images decoded server-side, in the order of `paths`, as they are decoded (a batch per call, several
   * decoded at once), where the source offers it. A missing or undecodable image comes back with its error;
   * a transport failure throws.
   */
  getImages?(paths: readonly string[], opts: ImageBatchOptions): AsyncIterable<ImageResult>;
}

/** Parsed model or ranker options: the JSON object getDefaultOptions() describes. */
export type PluginOptions = Record<string, unknown>;

export interface PluginContext<O extends PluginOptions = PluginOptions> {
  /** Short name of the project. */
  project: string;
  config: ConfigLike;
  dbConnector: DbConnectorLike;
  fileServer: FileSource;
  options: O;
}

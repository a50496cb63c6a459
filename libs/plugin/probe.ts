/**
 * A stand-in context for constructing a plugin outside any job: when the
 * registry checks a class on load, and when options are verified by trying
 * the constructor. Constructors must be cheap and must not touch the database
 * or files (the seed's advice for CUDA applies here too).
 */
import type { ConfigLike, DbConnectorLike, FileSource, PluginContext, PluginOptions, PropertyType } from './context.js';

/** Answers every key with its fallback, and throws where none is given, like Config. */
const fallbackConfig: ConfigLike = {
  getProperty(section: string, key: string, _type?: PropertyType, fallback?: unknown): unknown {
    if (fallback === undefined) throw new Error(`no setting [${section}] ${key} while probing`);
    return fallback;
  },
};

export const PROBE_PROJECT = '__probe__';

/** For hosts without a database (probes, the ranker service): every query fails, saying why. */
export const noDatabase: DbConnectorLike = {
  execute: () => Promise.reject(new Error('no database is available to this plugin here')),
};

/** For hosts without files: every file reads as missing, as the seed's fileServer reports it. */
export const noFiles: FileSource = { getFile: () => Promise.resolve(null) };

export function probeContext(options: PluginOptions, config: ConfigLike = fallbackConfig): PluginContext {
  return { project: PROBE_PROJECT, config, dbConnector: noDatabase, fileServer: noFiles, options };
}

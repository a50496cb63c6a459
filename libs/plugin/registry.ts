/**
 * The registry of prediction models and rankers: the built-ins of
 * models/index.ts plus extra plugins named in the config ([Models] extra =
 * "specifier#ExportName, …"). Every entry is checked on load (metadata,
 * methods, a constructor probe with its default options); a bad one is
 * reported in `errors` and skipped, never taking the registry down.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { notFound } from '../errors.js';
import type { Logger } from '../log.js';
import type { ConfigLike, PluginOptions } from './context.js';
import { parseMetadata, type PluginKind, type PluginMetadata } from './metadata.js';
import { parseOptionsJson } from './options.js';
import type { ModelClass, PluginClass, RankerClass } from './plugin.js';
import { probeContext } from './probe.js';
import { verifyPluginOptions, type VerifiedOptions } from './verify-options.js';

export interface RegistryEntry<C extends PluginClass = PluginClass> {
  meta: PluginMetadata;
  ctor: C;
  /** Where it came from: "builtin" or the extra specifier. */
  source: string;
}

export interface RegistryError {
  source: string;
  message: string;
}

export interface Registry {
  models: Map<string, RegistryEntry<ModelClass>>;
  rankers: Map<string, RegistryEntry<RankerClass>>;
  errors: RegistryError[];
  /** Throws NOT_FOUND for unknown keys. */
  getModel(key: string): RegistryEntry<ModelClass>;
  getRanker(key: string): RegistryEntry<RankerClass>;
  /** A model's or ranker's getDefaultOptions(); '' when it has none (the GUI then shows a blank field). */
  defaultOptions(key: string): string;
  /** Parses options JSON ('' = the defaults) and runs the plugin's verification, normalized. */
  verifyOptions(key: string, optionsJson: string): Promise<VerifiedOptions>;
  /**
   * Why a state of `size` bytes beginning with `head` cannot be one of model
   * `key` (its verifyState threw), or undefined where it can or the model has
   * no verifyState.
   */
  verifyState(key: string, head: Uint8Array, size: number): Promise<string | undefined>;
}

export interface LoadRegistryOptions {
  /** "specifier#ExportName" (a package name or a path; without "#", the default export). */
  extra?: readonly string[];
  /** Built-in plugins; defaults to the list in models/index.ts. */
  builtins?: readonly PluginClass[];
  /** Handed to constructor probes; a stand-in answering fallbacks otherwise. */
  config?: ConfigLike;
  logger?: Logger;
  /** Base of relative paths in `extra`; defaults to the working directory. */
  baseDir?: string;
}

/** The methods each kind must have; a list: any one of them (a ranker scores images one by one, or selects a batch over the pool). */
const REQUIRED_METHODS: Record<PluginKind, (string | string[])[]> = {
  model: ['train', 'averageModelStates', 'inference'],
  ranker: [['rank', 'selectBatch']],
};

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Imports "specifier#ExportName" and returns the export. */
async function importExport(spec: string, baseDir: string): Promise<unknown> {
  const hash = spec.lastIndexOf('#');
  const specifier = (hash < 0 ? spec : spec.slice(0, hash)).trim();
  const exportName = hash < 0 ? 'default' : spec.slice(hash + 1).trim();
  const isPath = specifier.startsWith('.') || path.isAbsolute(specifier);
  const url = isPath ? pathToFileURL(path.resolve(baseDir, specifier)).href : specifier;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot import '${specifier}': ${message(err)}`);
  }
  if (!(exportName in mod)) throw new Error(`module '${specifier}' has no export '${exportName}'`);
  return mod[exportName];
}

/** Defaults as an object, for probes; throws if getDefaultOptions is broken. */
function defaultOptionsOf(ctor: PluginClass): PluginOptions {
  const parsed = parseOptionsJson(ctor.getDefaultOptions?.() ?? '');
  if (parsed.error !== undefined) throw new Error(`getDefaultOptions(): ${parsed.error}`);
  return parsed.options;
}

/** Everything an entry must pass; throws with the reason it cannot be used. */
function checkPlugin(value: unknown, config: ConfigLike | undefined): { meta: PluginMetadata; ctor: PluginClass } {
  if (typeof value !== 'function') throw new Error(`export is a ${typeof value}, not a class`);
  const ctor = value as PluginClass;
  const meta = parseMetadata(ctor.metadata);
  const missing = REQUIRED_METHODS[meta.kind].filter((m) => ![m].flat().some((name) => typeof ctor.prototype?.[name] === 'function'));
  if (missing.length > 0) throw new Error(`${meta.kind} '${meta.key}' lacks method(s) ${missing.map((m) => [m].flat().join(' or ')).join(', ')}`);
  try {
    new ctor(probeContext(defaultOptionsOf(ctor), config));
  } catch (err) {
    throw new Error(`${meta.kind} '${meta.key}': constructor failed with the default options: ${message(err)}`);
  }
  return { meta, ctor };
}

export async function loadRegistry(options: LoadRegistryOptions = {}): Promise<Registry> {
  const builtins = options.builtins ?? (await import('../../models/index.js')).builtins;
  const baseDir = options.baseDir ?? process.cwd();
  const models = new Map<string, RegistryEntry<ModelClass>>();
  const rankers = new Map<string, RegistryEntry<RankerClass>>();
  const errors: RegistryError[] = [];

  const add = (source: string, value: unknown) => {
    const { meta, ctor } = checkPlugin(value, options.config);
    if (models.has(meta.key) || rankers.has(meta.key)) throw new Error(`duplicate key '${meta.key}'`);
    if (meta.kind === 'model') models.set(meta.key, { meta, ctor: ctor as ModelClass, source });
    else rankers.set(meta.key, { meta, ctor: ctor as RankerClass, source });
  };
  const tryAdd = async (source: string, load: () => unknown) => {
    try {
      add(source, await load());
    } catch (err) {
      errors.push({ source, message: message(err) });
      options.logger?.error({ source, err: message(err) }, 'plugin skipped');
    }
  };

  for (const ctor of builtins) await tryAdd('builtin', () => ctor);
  for (const spec of options.extra ?? []) {
    if (spec.trim() !== '') await tryAdd(spec.trim(), () => importExport(spec, baseDir));
  }

  const entry = (key: string): RegistryEntry => {
    const found = models.get(key) ?? rankers.get(key);
    if (!found) throw notFound(`plugin '${key}'`);
    return found;
  };

  const getModel = (key: string): RegistryEntry<ModelClass> => {
    const found = models.get(key);
    if (!found) throw notFound(`model '${key}'`);
    return found;
  };

  return {
    models,
    rankers,
    errors,
    getModel,
    getRanker(key) {
      const found = rankers.get(key);
      if (!found) throw notFound(`ranker '${key}'`);
      return found;
    },
    defaultOptions: (key) => entry(key).ctor.getDefaultOptions?.() ?? '',
    async verifyOptions(key, optionsJson) {
      const { ctor } = entry(key);
      const parsed = parseOptionsJson(optionsJson, ctor.getDefaultOptions?.() ?? '');
      if (parsed.error !== undefined) return { valid: false, warnings: [], errors: [parsed.error], options: {} };
      return verifyPluginOptions(ctor, parsed.options, (opts) => new ctor(probeContext(opts, options.config)));
    },
    async verifyState(key, head, size) {
      const { ctor } = getModel(key);
      try {
        await ctor.verifyState?.(head, size);
        return undefined;
      } catch (err) {
        return message(err);
      }
    },
  };
}

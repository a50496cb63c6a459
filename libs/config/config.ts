/**
 * Settings: an INI file (the seed's config.ini) plus environment overrides.
 *
 *   - The file is named by `file`, else by env AIDE_SETTINGS; with neither the
 *     settings are empty (everything comes from env or fallbacks).
 *   - `AIDE_<SECTION>_<KEY>` (both upper-cased) overrides [Section] key, e.g.
 *     AIDE_FILESERVER_ROOT → [FileServer] root. Env beats the file.
 *   - Sections and keys match case-insensitively.
 *   - A few well-known variables are honoured when neither of the above sets a
 *     key: DATABASE_URL for [Database] url.
 *
 * getProperty() follows the seed's contract: getProperty(section, key, type,
 * fallback). Without a fallback argument a missing key throws
 * MissingPropertyError; a value that does not parse as the type throws
 * InvalidPropertyError. The catalog (catalog.ts) only documents settings; it
 * plays no part in what getProperty returns.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'ini';

export type PropertyType = 'str' | 'int' | 'float' | 'bool';

/** The key is in neither the environment nor the file, and no fallback was given. */
export class MissingPropertyError extends Error {
  constructor(readonly section: string, readonly key: string, readonly envName: string) {
    super(`missing setting [${section}] ${key} (set it in the settings file or as env ${envName})`);
    this.name = 'MissingPropertyError';
  }
}

/** The key is set but its value does not parse as the requested type. */
export class InvalidPropertyError extends Error {
  constructor(
    readonly section: string,
    readonly key: string,
    readonly value: string,
    readonly type: PropertyType,
    readonly origin: string,
  ) {
    super(`setting [${section}] ${key} = ${JSON.stringify(value)} (from ${origin}) is not a valid ${type}`);
    this.name = 'InvalidPropertyError';
  }
}

export interface ConfigLoadOptions {
  /** INI file to read; defaults to env.AIDE_SETTINGS. */
  file?: string;
  /** Environment for overrides; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** INI text to parse instead of reading a file (tests; takes precedence over `file`). */
  text?: string;
}

/** Other environment variables honoured for a key when neither AIDE_<SECTION>_<KEY> nor the file sets it. */
const ENV_ALIASES: Readonly<Record<string, readonly string[]>> = {
  'database\u0000url': ['DATABASE_URL'],
};

const TRUE_WORDS = new Set(['true', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['false', 'no', 'off', '0']);
const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The environment variable that overrides [section] key. */
export function envName(section: string, key: string): string {
  return `AIDE_${section.toUpperCase()}_${key.toUpperCase()}`;
}

const slot = (section: string, key: string): string => `${section.toLowerCase()}\u0000${key.toLowerCase()}`;

/** ini's parse turns true/false/null into JS values and `k[]` into arrays; settings are text. */
function scalarText(value: unknown): string {
  if (Array.isArray(value)) return value.map(scalarText).join(',');
  if (value === null) return 'null';
  return String(value);
}

/** Flattens ini's tree ([a.b] nests as a → b) into section → key → text. */
function flatten(tree: Record<string, unknown>, prefix: string, into: Map<string, string>, sections: Set<string>): void {
  for (const [name, value] of Object.entries(tree)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const section = prefix ? `${prefix}.${name}` : name;
      sections.add(section);
      flatten(value as Record<string, unknown>, section, into, sections);
    } else {
      // Keys before the first section header belong to the section named ''.
      into.set(slot(prefix, name), scalarText(value));
    }
  }
}

export class Config {
  private readonly values = new Map<string, string>();
  private readonly sectionNames = new Set<string>();
  private readonly envUpper = new Map<string, string>();

  private constructor(
    /** The file read, if any. */
    readonly file: string | undefined,
    text: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    flatten(parse(text) as Record<string, unknown>, '', this.values, this.sectionNames);
    for (const [name, value] of Object.entries(env)) {
      if (value !== undefined) this.envUpper.set(name.toUpperCase(), value);
    }
  }

  /** Reads the settings: `text`, else `file`, else env.AIDE_SETTINGS, else none. */
  static load(opts: ConfigLoadOptions = {}): Config {
    const env = opts.env ?? process.env;
    if (opts.text !== undefined) return new Config(opts.file, opts.text, env);
    const file = opts.file ?? (env.AIDE_SETTINGS || undefined);
    if (file === undefined) return new Config(undefined, '', env);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read settings file ${file}: ${(err as Error).message}`, { cause: err });
    }
    return new Config(file, text, env);
  }

  /** Section names in the file, as written. */
  sections(): string[] {
    return [...this.sectionNames];
  }

  /** Whether [section] key is set (env or file). */
  has(section: string, key: string): boolean {
    return this.lookup(section, key) !== undefined;
  }

  /** The raw text of [section] key and where it came from, or undefined when unset. */
  lookup(section: string, key: string): { value: string; origin: string } | undefined {
    const name = envName(section, key);
    const fromEnv = this.env[name] ?? this.envUpper.get(name);
    const fromFile = this.values.get(slot(section, key));
    const primary = fromEnv !== undefined
      ? { value: fromEnv, origin: `env ${name}` }
      : fromFile !== undefined ? { value: fromFile, origin: this.file ?? 'settings text' } : undefined;
    if (primary !== undefined && primary.value !== '') return primary;
    // Aliases (DATABASE_URL) stand in when the key is unset or set empty.
    for (const alias of ENV_ALIASES[slot(section, key)] ?? []) {
      const value = this.env[alias];
      if (value !== undefined && value !== '') return { value, origin: `env ${alias}` };
    }
    return primary;
  }

  /**
   * The seed's getProperty. type: 'str' (default), 'int', 'float' or 'bool'
   * (true/false/yes/no/on/off/1/0, any case). Without a fallback argument a
   * missing key throws MissingPropertyError; with one (even undefined or null)
   * the fallback is returned as given. An empty value counts as missing for
   * int, float and bool (so `AIDE_X_Y=` falls back), but is '' for str.
   */
  getProperty(section: string, key: string): string;
  getProperty(section: string, key: string, type: 'str'): string;
  getProperty<F>(section: string, key: string, type: 'str', fallback: F): string | F;
  getProperty(section: string, key: string, type: 'int' | 'float'): number;
  getProperty<F>(section: string, key: string, type: 'int' | 'float', fallback: F): number | F;
  getProperty(section: string, key: string, type: 'bool'): boolean;
  getProperty<F>(section: string, key: string, type: 'bool', fallback: F): boolean | F;
  getProperty(section: string, key: string, type?: PropertyType, fallback?: unknown): unknown;
  getProperty(section: string, key: string, type: PropertyType = 'str', ...rest: unknown[]): unknown {
    const hasFallback = rest.length > 0;
    const found = this.lookup(section, key);
    const raw = found?.value;
    const missing = raw === undefined || (type !== 'str' && raw.trim() === '');
    if (missing) {
      if (hasFallback) return rest[0];
      throw new MissingPropertyError(section, key, envName(section, key));
    }
    const value = raw.trim();
    switch (type) {
      case 'str':
        return raw;
      case 'int': {
        const n = Number(value);
        if (INT_RE.test(value) && Number.isSafeInteger(n)) return n;
        break;
      }
      case 'float': {
        const n = Number(value);
        if (FLOAT_RE.test(value) && Number.isFinite(n)) return n;
        break;
      }
      case 'bool': {
        const word = value.toLowerCase();
        if (TRUE_WORDS.has(word)) return true;
        if (FALSE_WORDS.has(word)) return false;
        break;
      }
      default:
        throw new TypeError(`getProperty([${section}] ${key}): unknown type ${JSON.stringify(type)}`);
    }
    throw new InvalidPropertyError(section, key, raw, type, found!.origin);
  }
}

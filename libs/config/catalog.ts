/**
 * The catalog of known settings: documentation for every service's --help.
 * It does not decide anything: Config.getProperty() returns what the env and
 * the file say, and each caller passes its own fallback (use `defaultOf()` to
 * take the catalog's).
 */
import { stringify } from 'ini';
import { envName, type Config, type PropertyType } from './config.js';

export interface SettingSpec {
  section: string;
  key: string;
  type: PropertyType;
  /** The value used when the setting is absent; undefined = no default (empty / unset). */
  default?: string | number | boolean;
  description: string;
  /** Other environment variables honoured when the key is unset. */
  envAliases?: readonly string[];
}

const S = (
  section: string,
  key: string,
  type: PropertyType,
  def: string | number | boolean | undefined,
  description: string,
  extra: Partial<SettingSpec> = {},
): SettingSpec => ({ section, key, type, ...(def === undefined ? {} : { default: def }), description, ...extra });

export const SETTINGS_CATALOG: readonly SettingSpec[] = Object.freeze([
  S('Database', 'url', 'str', undefined,
    'PostgreSQL connection URL (postgres://user:pass@host:port/db); empty = embedded PGlite', { envAliases: ['DATABASE_URL'] }),
  S('Database', 'schema', 'str', undefined, 'schema to create if missing and put on every connection\'s search_path'),
  S('Database', 'pool_size', 'int', 10, 'connections in the pool'),
  S('Database', 'embedded_dir', 'str', undefined, 'data directory of the embedded PGlite (empty = in-memory)'),

  S('NATS', 'url', 'str', undefined, 'NATS server URL (nats://host:4222); empty = in-process bus'),
  S('NATS', 'stream', 'str', 'AIDE_PROGRESS', 'JetStream stream holding progress events'),
  S('NATS', 'subject_prefix', 'str', 'aide', 'prefix of every subject published'),

  S('AIController', 'host', 'str', '0.0.0.0', 'address the controller\'s gRPC server binds'),
  S('AIController', 'port', 'int', 50051, 'port of the controller\'s gRPC server'),
  S('AIController', 'workers', 'str', undefined, 'comma-separated worker addresses (host:port)'),
  S('AIController', 'workers_dns', 'str', undefined, 'DNS name resolving to every worker (alternative to workers)'),
  S('AIController', 'workers_resolve_interval_s', 'float', 30, 'seconds between re-resolving workers_dns'),
  S('AIController', 'workers_retry_s', 'float', 2, 'seconds between asking an unreachable or draining worker again (a restarted worker is used again this soon)'),
  S('AIController', 'max_attempts', 'int', 3, 'workers tried per shard before a job fails'),
  S('AIController', 'ranker', 'str', undefined, 'Ranker service address (host:port)'),
  S('AIController', 'fileserver', 'str', undefined, 'FileServer address (host:port), for registering images'),
  S('AIController', 'controller_id', 'str', undefined, 'stable id of this controller: after a restart it resumes its jobs at once (default: hostname)'),
  S('AIController', 'lease_s', 'float', 15, 'seconds a controller holds a running job without renewing; then another takes it over'),
  S('AIController', 'max_active_jobs', 'int', 4, 'jobs this controller runs at once'),
  S('AIController', 'max_state_bytes', 'int', 4294967296, 'largest model state ImportModelState accepts, in bytes'),
  S('AIController', 'state_dir', 'str', undefined, 'folder of the model states\' bytes, one file per state (required with a database server; default beside [Database] embedded_dir, else a temporary folder)'),
  S('AIController', 'state_lane_port', 'int', undefined, 'port of the state lane, model states\' bytes over plain HTTP/2 beside the gRPC API (unset = none, 0 = any free port)'),
  S('AIController', 'state_sync', 'bool', true, 'flush each model state\'s file to disk before it becomes visible (off only for throwaway folders)'),
  S('AIController', 'metrics_port', 'int', undefined, 'port of the Prometheus GET /metrics endpoint on this section\'s host (unset = none, 0 = any free port)'),
  S('AIController', 'drain_deadline_s', 'float', 20, 'seconds to finish running calls on SIGTERM'),

  S('AIWorker', 'host', 'str', '0.0.0.0', 'address the worker\'s gRPC server binds'),
  S('AIWorker', 'port', 'int', 50052, 'port of the worker\'s gRPC server'),
  S('AIWorker', 'worker_id', 'str', undefined, 'stable id of this worker (default: hostname:port)'),
  S('AIWorker', 'max_concurrent_jobs', 'int', 2, 'jobs this worker runs at once'),
  S('AIWorker', 'backend', 'str', 'auto', 'compute backend of the models (auto, cpu, wasm, gpu, ...)'),
  S('AIWorker', 'max_state_bytes', 'int', 2147483648, 'largest model state accepted, in bytes'),
  S('AIWorker', 'fileserver', 'str', undefined, 'FileServer address (host:port)'),
  S('AIWorker', 'state_dir', 'str', undefined, 'the controller\'s state folder where this worker can reach it (a shared volume): states then go by file name instead of through the call'),
  S('AIWorker', 'state_sync', 'bool', true, 'flush each state this worker writes into the shared state folder to disk (off only for throwaway folders)'),
  S('AIWorker', 'metrics_port', 'int', undefined, 'port of the Prometheus GET /metrics endpoint on this section\'s host (unset = none, 0 = any free port)'),
  S('AIWorker', 'drain_deadline_s', 'float', 20, 'seconds to finish running calls on SIGTERM'),

  S('FileServer', 'root', 'str', './.data/files', 'folder holding every project\'s files'),
  S('FileServer', 'host', 'str', '0.0.0.0', 'address the FileServer binds (gRPC and HTTP)'),
  S('FileServer', 'port', 'int', 50053, 'port of the FileServer\'s gRPC server'),
  S('FileServer', 'http_port', 'int', 8080, 'port of the FileServer\'s HTTP server'),
  S('FileServer', 'max_put_bytes', 'int', 1073741824, 'largest file accepted by PutFile, in bytes'),
  S('FileServer', 'http_processes', 'int', 1, 'processes serving HTTP on http_port (node:cluster); more than 1 where one process\'s CPU is the limit'),
  S('FileServer', 'http_cache_bytes', 'int', 134217728, 'memory of each HTTP process for recently served files up to 256 KiB, in bytes (0 = none)'),
  S('FileServer', 'url_signing_key', 'str', undefined, 'secret signing download URLs (empty = unsigned URLs refused)'),
  S('FileServer', 'metrics_port', 'int', undefined, 'port of the Prometheus GET /metrics endpoint on this section\'s host (unset = none, 0 = any free port)'),
  S('FileServer', 'drain_deadline_s', 'float', 20, 'seconds to finish running calls on SIGTERM'),

  S('Ranker', 'host', 'str', '0.0.0.0', 'address the ranker\'s gRPC server binds'),
  S('Ranker', 'port', 'int', 50054, 'port of the ranker\'s gRPC server'),
  S('Ranker', 'metrics_port', 'int', undefined, 'port of the Prometheus GET /metrics endpoint on this section\'s host (unset = none, 0 = any free port)'),
  S('Ranker', 'drain_deadline_s', 'float', 20, 'seconds to finish running calls on SIGTERM'),

  S('Security', 'plaintext', 'bool', false, 'serve and call without TLS (development only)'),
  S('Security', 'tls_cert', 'str', undefined, 'PEM certificate of this service'),
  S('Security', 'tls_key', 'str', undefined, 'PEM private key of this service'),
  S('Security', 'tls_ca', 'str', undefined, 'PEM CA bundle; set to require and verify peer certificates (mTLS)'),
  S('Security', 'require_client_cert', 'bool', true, 'with tls_ca: refuse clients without a certificate; false on a public port (the controller) where users come with API tokens'),
  S('Security', 'mesh_token', 'str', undefined,
    'shared secret (one word) every service sends as "authorization: Bearer" to the others and accepts as a mesh peer; required where services run as separate processes in plaintext, a second credential beside mTLS; keep it secret (a Kubernetes secret)'),
  S('Security', 'reflection', 'bool', true, 'serve gRPC server reflection'),

  S('Log', 'level', 'str', 'info', 'log level (fatal, error, warn, info, debug, trace, silent)'),

  S('Models', 'extra', 'str', undefined, 'comma-separated module specifiers of extra models and rankers to load'),
]);

/** The catalog entry of [section] key (case-insensitive), if known. */
export function findSetting(section: string, key: string): SettingSpec | undefined {
  const s = section.toLowerCase();
  const k = key.toLowerCase();
  return SETTINGS_CATALOG.find((e) => e.section.toLowerCase() === s && e.key.toLowerCase() === k);
}

/** The catalog's default of [section] key; throws for a setting the catalog does not know. */
export function defaultOf(section: string, key: string): string | number | boolean | undefined {
  const spec = findSetting(section, key);
  if (!spec) throw new Error(`setting [${section}] ${key} is not in the catalog`);
  return spec.default;
}

/**
 * Every catalogued setting the config has, resolved (env over file), as INI
 * text: a child process loading it with an empty environment sees exactly
 * these settings, whatever its own environment holds.
 */
export function settingsSnapshot(config: Config): string {
  const sections: Record<string, Record<string, string>> = {};
  for (const { section, key } of SETTINGS_CATALOG) {
    const found = config.lookup(section, key);
    if (found) (sections[section] ??= {})[key] = found.value;
  }
  return stringify(sections);
}

/** What each deployable reads: its own section and the shared ones (a `Section.key` entry: that one key only). */
export const SERVICE_SETTINGS: Readonly<Record<string, readonly string[]>> = {
  controller: ['AIController', 'Database', 'NATS', 'Security', 'Log', 'Models', 'FileServer.url_signing_key'],
  worker: ['AIWorker', 'NATS', 'Security', 'Log', 'Models'],
  fileserver: ['FileServer', 'Database', 'Security', 'Log'],
  ranker: ['Ranker', 'Security', 'Log', 'Models'],
};

/** The catalog entries one service reads, in catalog order. */
export function serviceCatalog(service: string): SettingSpec[] {
  const wanted = SERVICE_SETTINGS[service];
  if (!wanted) throw new Error(`unknown service ${service}`);
  return SETTINGS_CATALOG.filter((e) => wanted.includes(e.section) || wanted.includes(`${e.section}.${e.key}`));
}

/** One line per setting, grouped by section: `AIDE_<SECTION>_<KEY>  (type, default: x)  description`. */
export function settingsHelp(catalog: readonly SettingSpec[] = SETTINGS_CATALOG): string {
  const names = catalog.map((e) => envName(e.section, e.key));
  const width = Math.max(...names.map((n) => n.length));
  const lines: string[] = [];
  let section: string | undefined;
  catalog.forEach((e, i) => {
    if (e.section !== section) {
      if (section !== undefined) lines.push('');
      lines.push(`[${e.section}]`);
      section = e.section;
    }
    const def = e.default === undefined ? 'unset' : `default: ${String(e.default)}`;
    const aliases = e.envAliases?.length ? ` (also env ${e.envAliases.join(', ')})` : '';
    lines.push(`  ${names[i]!.padEnd(width)}  ${e.key} (${e.type}, ${def})  ${e.description}${aliases}`);
  });
  return lines.join('\n');
}

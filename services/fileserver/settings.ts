import { defaultOf } from '../../libs/config/catalog.js';
import type { Config } from '../../libs/config/config.js';
import type { FileStoreOptions } from './store.js';

export const SECTION = 'FileServer';

const str = (config: Config, key: string): string => config.getProperty(SECTION, key, 'str', defaultOf(SECTION, key) as string);
const int = (config: Config, key: string): number => config.getProperty(SECTION, key, 'int', defaultOf(SECTION, key) as number);

export function fileStoreOptions(config: Config): FileStoreOptions {
  return { root: str(config, 'root'), maxPutBytes: int(config, 'max_put_bytes') };
}

/** The HTTP edge's settings: the same for the service and each of its HTTP processes. */
export interface FileHttpSettings {
  host: string;
  port: number;
  processes: number;
  cacheBytes: number;
}

export function fileHttpSettings(config: Config): FileHttpSettings {
  const processes = int(config, 'http_processes');
  const cacheBytes = int(config, 'http_cache_bytes');
  if (processes < 1) throw new Error(`setting [${SECTION}] http_processes must be at least 1 (is ${processes})`);
  if (cacheBytes < 0) throw new Error(`setting [${SECTION}] http_cache_bytes must not be negative (is ${cacheBytes})`);
  return { host: str(config, 'host'), port: int(config, 'http_port'), processes, cacheBytes };
}

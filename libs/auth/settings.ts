import type { Config } from '../config/config.js';

/** [FileServer] url_signing_key, shared by the controller (signs) and the FileServer (verifies); undefined = none. */
export function urlSigningKey(config: Config): Buffer | undefined {
  const key = config.getProperty('FileServer', 'url_signing_key', 'str', '');
  return key === '' ? undefined : Buffer.from(key);
}

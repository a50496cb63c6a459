import type { Config } from '../config/config.js';
import { MeshToken } from './mesh-token.js';

/** [FileServer] url_signing_key, shared by the controller (signs) and the FileServer (verifies); undefined = none. */
export function urlSigningKey(config: Config): Buffer | undefined {
  const key = config.getProperty('FileServer', 'url_signing_key', 'str', '');
  return key === '' ? undefined : Buffer.from(key);
}

/** [Security] mesh_token, shared by every service of the mesh; undefined = none. */
export function meshToken(config: Config): MeshToken | undefined {
  const secret = config.getProperty('Security', 'mesh_token', 'str', '');
  return secret === '' ? undefined : new MeshToken(secret);
}

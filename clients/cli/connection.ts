import type { Command } from 'commander';
import { profilePath, readProfile } from '../../libs/config/profile.js';
import type { GlobalOptions } from './session.js';
import { UsageError } from './failure.js';

const TRUE_WORDS = new Set(['1', 'true', 'yes', 'on']);
const FALSE_WORDS = new Set(['', '0', 'false', 'no', 'off']);

/** AIDE_PLAINTEXT as a switch: 1/true/yes/on, or 0/false/no/off/empty (commander would take any value, even 0, as on). */
function plaintextFromEnv(env: NodeJS.ProcessEnv): boolean {
  const value = (env.AIDE_PLAINTEXT ?? '').trim().toLowerCase();
  if (TRUE_WORDS.has(value)) return true;
  if (FALSE_WORDS.has(value)) return false;
  throw new UsageError(`AIDE_PLAINTEXT=${env.AIDE_PLAINTEXT}: use 1 (plaintext) or 0 (TLS)`);
}

/**
 * The global options a command connects with. Flags beat environment
 * variables; with neither an address nor a token given, the profile that
 * `npm start` wrote (libs/config/profile.ts) supplies address, FileServer,
 * token and plaintext, so a newcomer's first command needs no setup.
 */
export function connectionOptions(command: Command, env: NodeJS.ProcessEnv = process.env): GlobalOptions {
  const options = command.optsWithGlobals<GlobalOptions>();
  const given = (key: string) => {
    const source = command.getOptionValueSourceWithGlobals(key);
    return source !== undefined && source !== 'default';
  };
  const tlsFiles = options.tlsCa !== undefined || options.tlsCert !== undefined || options.tlsKey !== undefined;
  const resolved: GlobalOptions = { ...options, plaintext: options.plaintext ?? (!tlsFiles && plaintextFromEnv(env)) };
  if (given('address') || given('token')) return resolved;
  const file = profilePath(env);
  let profile;
  try {
    profile = readProfile(file);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (!profile) return resolved;
  return {
    ...resolved,
    address: profile.address,
    fileserver: given('fileserver') ? resolved.fileserver : profile.fileserver,
    token: profile.token,
    plaintext: resolved.plaintext || (!tlsFiles && profile.plaintext),
    profile: file,
  };
}

import { envName, InvalidPropertyError, MissingPropertyError } from './config.js';

/**
 * A setting that cannot work as given (its port is taken, its file cannot be
 * read): the message names the setting and its environment variable, so the
 * fix is in the message and a stack trace would only hide it.
 */
export class SettingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SettingError';
  }
}

/** `[Section] key or AIDE_SECTION_KEY`: how messages name a setting. */
export const settingName = (section: string, key: string): string => `[${section}] ${key} or ${envName(section, key)}`;

/** Exit code of a process that could not start because of its settings (sysexits' EX_CONFIG). */
export const EXIT_CONFIG = 78;

/** The message for a start-up failure the user fixes in the settings; undefined for anything else (a bug keeps its stack). */
export function settingProblem(err: unknown): string | undefined {
  if (err instanceof SettingError || err instanceof MissingPropertyError || err instanceof InvalidPropertyError) return err.message;
  return undefined;
}

/** Binds a listening port, turning "address in use" / "not permitted" into a SettingError naming the setting. */
export async function bindPort<T>(setting: { section: string; key: string; host: string; port: number }, bind: () => Promise<T>): Promise<T> {
  try {
    return await bind();
  } catch (err) {
    // grpc-js reports a failed bind only in its message ("No address added … EADDRINUSE"); node:net sets the code.
    const text = `${(err as NodeJS.ErrnoException).code ?? ''} ${(err as Error).message}`;
    const where = `${setting.host}:${setting.port}`;
    const fix = `set ${settingName(setting.section, setting.key)}`;
    if (/EADDRINUSE/.test(text)) throw new SettingError(`port ${setting.port} is in use (${where}): ${fix}`, { cause: err });
    if (/EACCES/.test(text)) throw new SettingError(`port ${setting.port} needs privileges (${where}): ${fix}`, { cause: err });
    if (/EADDRNOTAVAIL|ENOTFOUND/.test(text)) throw new SettingError(`cannot listen on ${where}: set ${settingName(setting.section, 'host')}`, { cause: err });
    throw err;
  }
}

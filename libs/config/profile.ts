/**
 * The local connection profile: where `npm start` (the embedded mesh) tells
 * the `aide` CLI how to reach it — addresses, its admin token, plaintext —
 * so a newcomer's `npx aide projects list` works with nothing typed.
 *
 * The file is AIDE_PROFILE when set, else aide/profile.json under the user's
 * config folder ($XDG_CONFIG_HOME, else ~/.config): one per user, not per
 * checkout, so the CLI finds it from any folder. It holds a token, so it is
 * written 0600 (readable by its owner only) and replaced atomically.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';

export const ConnectionProfile = z.object({
  /** The AIController, host:port. */
  address: z.string().min(1),
  /** The FileServer's gRPC side, host:port. */
  fileserver: z.string().min(1),
  token: z.string().min(1),
  plaintext: z.boolean(),
});
export type ConnectionProfile = z.infer<typeof ConnectionProfile>;

export function profilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AIDE_PROFILE) return env.AIDE_PROFILE;
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'aide', 'profile.json');
}

export function writeProfile(file: string, profile: ConnectionProfile): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(profile, null, 2)}\n`, { mode: 0o600 });
  // The mode given to writeFileSync is masked by the umask; the token must not be readable by others whatever it is.
  chmodSync(temporary, 0o600);
  renameSync(temporary, file);
}

/** The profile, or undefined when there is none; a file that is there but unreadable or malformed fails loudly. */
export function readProfile(file: string): ConnectionProfile | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the connection profile ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`connection profile ${file} is not JSON: ${(err as Error).message}`);
  }
  const parsed = ConnectionProfile.safeParse(json);
  if (!parsed.success) throw new Error(`connection profile ${file} is malformed: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`);
  return parsed.data;
}

/** Removes the profile if it is still the one `profile` wrote (a later `npm start` may have replaced it). */
export function removeProfile(file: string, profile: ConnectionProfile): void {
  try {
    if (readProfile(file)?.token === profile.token) rmSync(file, { force: true });
  } catch {
    // Someone else's malformed file: not ours to remove.
  }
}

/**
 * Short-lived download URLs for browsers (an <img src> cannot send a token):
 * /files/<project>/<path>?exp=<unix seconds>&sig=<HMAC-SHA256>, the MAC over
 * the project, the normalized path and the expiry, with the [FileServer]
 * url_signing_key the controller and the FileServer share. Changing any of
 * the three, or waiting past exp, makes the URL worthless.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { invalidField } from '../errors.js';
import { checkProject, pathSegments } from '../files/safe-path.js';

export interface FileUrlTarget {
  project: string;
  /** Relative to the project folder; normalized as the FileServer does before signing. */
  path: string;
}

/** Below this a key could be guessed offline from one signed URL. */
export const MIN_SIGNING_KEY_BYTES = 32;

function checkKey(key: Buffer): Buffer {
  if (key.length < MIN_SIGNING_KEY_BYTES) throw new Error(`the URL signing key needs at least ${MIN_SIGNING_KEY_BYTES} bytes`);
  return key;
}

// Newline-separated: a project name cannot hold one, so no two targets give the same text.
const mac = (target: FileUrlTarget, exp: number, key: Buffer): Buffer =>
  createHmac('sha256', checkKey(key)).update(`aide-file-url-v1\n${target.project}\n${target.path}\n${exp}`).digest();

const normalized = (target: FileUrlTarget): FileUrlTarget =>
  ({ project: checkProject(target.project), path: pathSegments(target.path).join('/') });

/** The signed URL path (no origin: the caller prefixes the FileServer's public address). */
export function signFileUrl(target: FileUrlTarget & { expiresAt: Date }, key: Buffer): string {
  const exp = Math.floor(target.expiresAt.getTime() / 1000);
  if (!Number.isSafeInteger(exp)) throw invalidField('expires_at', 'is not a valid time');
  const file = normalized(target);
  const encodedPath = file.path.split('/').map(encodeURIComponent).join('/');
  const sig = mac(file, exp, key).toString('base64url');
  return `/files/${file.project}/${encodedPath}?exp=${exp}&sig=${sig}`;
}

/** Whether `query` (exp, sig) is a valid, unexpired signature of the target (already normalized by the server). */
export function verifyFileUrl(target: FileUrlTarget, query: URLSearchParams, key: Buffer, now = new Date()): boolean {
  const expText = query.get('exp') ?? '';
  // Compared as text: decoding base64 leniently would let many spellings of one signature pass.
  const sig = Buffer.from(query.get('sig') ?? '');
  if (!/^\d{1,12}$/.test(expText)) return false;
  const exp = Number(expText);
  if (exp * 1000 <= now.getTime()) return false;
  const expected = Buffer.from(mac(target, exp, key).toString('base64url'));
  return sig.length === expected.length && timingSafeEqual(sig, expected);
}

/** The query of a request target (origin-form: path?query). */
export const queryOf = (url: string): URLSearchParams => {
  const at = url.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
};

/** What an accepted URL is remembered with. */
interface Accepted extends FileUrlTarget {
  /** Unix milliseconds. */
  expiresAt: number;
}

/**
 * verifyFileUrl that remembers the URLs it accepted until they expire: a
 * browser asks for the same signed URL again and again (reloads,
 * revalidation), and the HMAC and the parse of the query are most of what
 * authorizing a request costs. Only accepted URLs are kept, by their exact
 * text with the target they were accepted for; anything else is verified in
 * full. Bounded: the least recently used go first.
 */
export class SignedUrlVerifier {
  readonly #accepted: LRUCache<string, Accepted>;

  constructor(private readonly key: Buffer, maxRemembered = 65_536) {
    checkKey(key);
    this.#accepted = new LRUCache({ max: maxRemembered });
  }

  /** Whether `url` (the request target as received: path?query) is a valid, unexpired signature of the target (normalized by the server). */
  verify(target: FileUrlTarget, url: string, now = new Date()): boolean {
    const known = this.#accepted.get(url);
    if (known && known.project === target.project && known.path === target.path) {
      if (known.expiresAt > now.getTime()) return true;
      this.#accepted.delete(url);
      return false;
    }
    const query = queryOf(url);
    const ok = verifyFileUrl(target, query, this.key, now);
    if (ok) this.#accepted.set(url, { ...target, expiresAt: Number(query.get('exp')) * 1000 });
    return ok;
  }
}

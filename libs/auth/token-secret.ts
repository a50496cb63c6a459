/**
 * API token secrets: `aide_<id>_<random>`. The id finds the row, so a secret
 * is checked against one stored hash, compared in constant time.
 *
 * Stored as SHA-256, not scrypt: the random part has 256 bits of entropy, so
 * there is nothing for a slow hash to protect against guessing, and a fast
 * hash keeps every authenticated call cheap.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'aide';
const ID_BYTES = 8;
const SECRET_BYTES = 32;
const FORMAT = /^aide_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export const newTokenId = (): string => randomBytes(ID_BYTES).toString('hex');

export const newSecret = (id: string): string => `${PREFIX}_${id}_${randomBytes(SECRET_BYTES).toString('base64url')}`;

/** The token id a secret names, or undefined when it is not shaped like one of ours. */
export const tokenIdOf = (secret: string): string | undefined => FORMAT.exec(secret)?.[1];

export const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret).digest();

export const secretMatches = (secret: string, hash: Buffer): boolean => {
  const actual = hashSecret(secret);
  return actual.length === hash.length && timingSafeEqual(actual, hash);
};

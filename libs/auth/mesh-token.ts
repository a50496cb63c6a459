/**
 * The mesh token: a shared secret ([Security] mesh_token) that makes a caller
 * a mesh peer, for meshes without client certificates (plaintext on one host
 * or a private network), and as a second credential beside mTLS.
 *
 * Clients send it as `authorization: Bearer <mesh_token>` on every call to
 * another service; servers compare it in constant time. It is a secret like a
 * private key: never logged, never in an error message.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';

/** The principal identity of a caller that presented the mesh token. */
export const MESH_TOKEN_IDENTITY = 'mesh-token';

// Comparing digests keeps the comparison constant-time whatever the candidate's length.
const digest = (secret: string): Buffer => createHash('sha256').update(secret).digest();

export class MeshToken {
  readonly #secret: string;
  readonly #digest: Buffer;

  constructor(secret: string) {
    // The bearer header carries one word; the message never shows the secret.
    if (!/^\S+$/.test(secret)) throw new TypeError('[Security] mesh_token must be one word without spaces');
    this.#secret = secret;
    this.#digest = digest(secret);
  }

  /** Whether a presented bearer secret is the mesh token (constant time). */
  matches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.#digest);
  }

  /** Metadata carrying the token, for every call a service makes to the mesh. */
  metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${this.#secret}`);
    return md;
  }

  /** Keeps the secret out of logs and inspection. */
  toJSON(): string { return '[mesh token]'; }
  [Symbol.for('nodejs.util.inspect.custom')](): string { return '[mesh token]'; }
}

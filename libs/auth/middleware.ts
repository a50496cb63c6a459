/**
 * Authentication of gRPC calls: sets ctx.principal from the bearer token in
 * the `authorization` metadata, else from the client certificate, else
 * anonymous (the role checks then answer UNAUTHENTICATED).
 *
 * A token that is present but bad, expired or revoked fails the call with
 * UNAUTHENTICATED; it never falls back to the certificate or to anonymous. A
 * token wins over a certificate: a mesh service acting for a user presents
 * the user's token and gets that user's rights, not its own.
 *
 * Mesh peers: with `acceptPeers`, any client certificate that the server
 * verified against [Security] tls_ca is a peer with full rights, so that CA
 * must sign only the mesh's services (users get tokens, never certificates).
 * With `meshToken`, a bearer secret equal to [Security] mesh_token makes the
 * caller a peer too (over TLS as well: a second credential, not a downgrade).
 *
 * Health and reflection are separate services without this middleware: they
 * answer callers without credentials.
 */
import { unauthenticated } from '../errors.js';
import type { CallContext, Middleware, Principal } from '../grpc/context.js';
import { bearerOf } from './bearer.js';
import { MESH_TOKEN_IDENTITY, type MeshToken } from './mesh-token.js';
import { peerIdentity } from './peer-identity.js';
import type { TokenStore } from './tokens.js';

export interface AuthenticateOptions {
  /** Without a store, tokens are refused (a service with no database). */
  tokens?: Pick<TokenStore, 'verify'>;
  /** Whether a CA-verified client certificate makes the caller a mesh peer. */
  acceptPeers: boolean;
  /** The mesh's shared secret: a caller presenting it is a mesh peer. */
  meshToken?: MeshToken;
}

// The same words for every bad token: callers learn nothing about which tokens exist.
const BAD_TOKEN = 'invalid, expired or revoked token';

/** The caller an `authorization` header (and a verified client certificate) names; the same rules on every edge. */
export async function principalOf(authorization: readonly string[], peerCertificate: CallContext['peerCertificate'], opts: AuthenticateOptions): Promise<Principal> {
  const bearer = bearerOf(authorization);
  if (bearer.kind === 'malformed') throw unauthenticated('authorization must be "Bearer <token>"');
  if (bearer.kind === 'secret') {
    if (opts.meshToken?.matches(bearer.secret)) return { kind: 'peer', identity: MESH_TOKEN_IDENTITY };
    if (!opts.tokens) throw unauthenticated('this service does not accept API tokens');
    const principal = await opts.tokens.verify(bearer.secret);
    if (!principal) throw unauthenticated(BAD_TOKEN);
    return principal;
  }
  const identity = opts.acceptPeers && peerCertificate ? peerIdentity(peerCertificate) : undefined;
  return identity === undefined ? { kind: 'anonymous' } : { kind: 'peer', identity };
}

export function authenticate(opts: AuthenticateOptions): Middleware {
  return async (ctx, next) => {
    ctx.principal = await principalOf(ctx.metadata.get('authorization').map(String), ctx.peerCertificate, opts);
    await next();
  };
}

/**
 * For services only the mesh calls (worker, ranker): anyone but a mesh peer
 * is UNAUTHENTICATED. Runs after authenticate().
 */
export const peersOnly = (): Middleware => async (ctx, next) => {
  if (ctx.principal.kind !== 'peer') throw unauthenticated('only services of the mesh may call this service ([Security] mesh_token or a mesh client certificate)');
  await next();
};

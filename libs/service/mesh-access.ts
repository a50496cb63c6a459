/**
 * How the services of one mesh recognise each other: a CA-verified client
 * certificate (mTLS) and/or the shared [Security] mesh_token. Clients send
 * what they have on every call; servers take either as a mesh peer.
 */
import type * as grpc from '@grpc/grpc-js';
import { authenticate, peersOnly } from '../auth/middleware.js';
import { meshToken } from '../auth/settings.js';
import type { Config } from '../config/config.js';
import { channelCredentials } from '../grpc/credentials.js';
import type { Middleware } from '../grpc/context.js';
import type { Logger } from '../log.js';
import { tlsSettings } from './settings.js';

/** Channel credentials and per-call metadata of a service calling another service of the mesh. */
export function meshClientOptions(config: Config): { credentials: grpc.ChannelCredentials; metadata?: grpc.Metadata } {
  return { credentials: channelCredentials(tlsSettings(config)), metadata: meshToken(config)?.metadata() };
}

/** Whether a client certificate verified against [Security] tls_ca makes its caller a mesh peer. */
export function certificatePeers(config: Config): boolean {
  const tls = tlsSettings(config);
  return !tls.plaintext && tls.caFile !== undefined;
}

/**
 * Authentication of a service only the mesh calls (worker, ranker). With a
 * mesh token set, a caller needs it or a mesh client certificate. Without
 * one, the transport decides: mTLS admits only certificates of the mesh's CA;
 * plaintext admits anyone who reaches the port (warned at start).
 */
export function meshOnlyMiddleware(config: Config): Middleware[] {
  const token = meshToken(config);
  return token ? [authenticate({ acceptPeers: certificatePeers(config), meshToken: token }), peersOnly()] : [];
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/i;

/** Says loudly when a server is open to its network with no way to tell mesh peers from anyone else. */
export function warnIfUnprotected(config: Config, host: string, logger: Logger): void {
  if (!tlsSettings(config).plaintext || meshToken(config) || LOOPBACK.test(host)) return;
  logger.warn({ host },
    'PLAINTEXT ON A NON-LOOPBACK ADDRESS WITHOUT [Security] mesh_token: calls are neither encrypted nor authenticated as mesh peers. '
    + 'Set AIDE_SECURITY_MESH_TOKEN on every service, or use TLS, or bind to 127.0.0.1');
}

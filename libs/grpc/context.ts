import type { PeerCertificate } from 'node:tls';
import type * as grpc from '@grpc/grpc-js';

/** Who is calling, as established by the auth middleware. */
export type Principal =
  | { kind: 'anonymous' }
  /** Another service of the mesh, identified by its client certificate. */
  | { kind: 'peer'; identity: string }
  /** A public caller with an API token granting roles per project. */
  | { kind: 'token'; tokenId: string; name: string; roles: ReadonlyMap<string, string> };

/** What a handler knows about its call besides the request. */
export interface CallContext {
  /** Aborts when the client cancels, the deadline passes, or the server shuts down. */
  signal: AbortSignal;
  metadata: grpc.Metadata;
  peer: string;
  /** The client's TLS certificate, present only when it was verified against the configured CA (mTLS). */
  peerCertificate?: PeerCertificate;
  /** Full method path, e.g. "/aide.v1.FileService/GetFile". */
  method: string;
  principal: Principal;
  /** Free slot for middleware to hand values to handlers (e.g. a tracing span). */
  values: Map<string, unknown>;
}

/**
 * A middleware wraps every call of a service: it may reject it (throw), look
 * at or enrich the context, and observe its end (await next()).
 */
export type Middleware = (ctx: CallContext, next: () => Promise<void>) => Promise<void>;

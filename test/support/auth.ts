/**
 * API tokens for tests of secured services:
 *
 *   const tokens = await withTokens(db.pool);           // auth tables migrated
 *   const secret = await tokens.secretFor({ proj: 'annotator' });
 *   client.listImages(req, { metadata: tokenMetadata(secret) });
 *   // serve with middleware: [authenticate({ tokens: tokens.store, acceptPeers: false })]
 */
import * as grpc from '@grpc/grpc-js';
import type pg from 'pg';
import type { Role } from '../../libs/auth/roles.js';
import { migrateAuth } from '../../libs/auth/schema.js';
import { TokenStore } from '../../libs/auth/tokens.js';

/** gRPC metadata carrying `authorization: Bearer <secret>`. */
export function tokenMetadata(secret: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${secret}`);
  return md;
}

export interface TestTokens {
  store: TokenStore;
  /** A new token's secret granting `roles` (project or '*' → role). */
  secretFor(roles: Record<string, Role>, opts?: { name?: string; ttlSeconds?: number }): Promise<string>;
}

export async function withTokens(pool: pg.Pool): Promise<TestTokens> {
  await migrateAuth(pool);
  const store = new TokenStore(pool);
  return {
    store,
    async secretFor(roles, opts = {}) {
      const name = opts.name ?? Object.entries(roles).map(([p, r]) => `${p}=${r}`).join(',');
      return (await store.createToken({ name, roles: new Map(Object.entries(roles)), ttlSeconds: opts.ttlSeconds }, 'test')).secret;
    },
  };
}

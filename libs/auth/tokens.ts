/**
 * API tokens over Postgres: created with roles per project, shown once,
 * stored only as a hash, verified on every call against the database (no
 * cache), so a revoked or expired token is refused at once.
 */
import type pg from 'pg';
import { DbConnector } from '../db/index.js';
import { invalidField, notFound } from '../errors.js';
import type { Principal } from '../grpc/context.js';
import { recordAudit } from './audit.js';
import { ANY_PROJECT, isRole, type Role } from './roles.js';
import { hashSecret, newSecret, newTokenId, secretMatches, tokenIdOf } from './token-secret.js';

export type TokenPrincipal = Extract<Principal, { kind: 'token' }>;

export interface TokenInfo {
  id: string;
  name: string;
  /** project (or '*' for every project) → role. */
  roles: ReadonlyMap<string, Role>;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export interface NewToken {
  name: string;
  roles: ReadonlyMap<string, Role>;
  /** Lifetime; absent or 0 = never expires. */
  ttlSeconds?: number;
}

// A type, not an interface: DbConnector's rows need an index signature.
type TokenRow = {
  id: string;
  name: string;
  hash: Buffer;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  usable: boolean;
  roles: Record<string, Role> | null;
};

// One row per token, its roles folded into an object; `usable` is judged by the database's clock.
const SELECT_TOKENS = `
  SELECT t.id, t.name, t.hash, t.created_at, t.expires_at, t.revoked_at,
         (t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())) AS usable,
         (SELECT jsonb_object_agg(r.project, r.role) FROM auth_token_roles r WHERE r.token_id = t.id) AS roles
    FROM auth_tokens t`;

const infoOf = (row: TokenRow): TokenInfo => ({
  id: row.id,
  name: row.name,
  roles: new Map(Object.entries(row.roles ?? {})),
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
});

/** Longest token name: it becomes the author of what the token writes (proto ApiToken.name). */
export const TOKEN_NAME_MAX = 200;

function checkSpec(spec: NewToken): void {
  if (spec.name.trim() === '') throw invalidField('name', 'must not be empty');
  if (spec.name.length > TOKEN_NAME_MAX) throw invalidField('name', `is longer than ${TOKEN_NAME_MAX} characters`);
  if (spec.roles.size === 0) throw invalidField('roles', 'a token needs at least one role');
  for (const [project, role] of spec.roles) {
    if (project === '') throw invalidField('roles', `a role needs a project (or '${ANY_PROJECT}')`);
    if (!isRole(role)) throw invalidField('roles', `unknown role '${role}'`);
  }
  const ttl = spec.ttlSeconds ?? 0;
  if (!Number.isSafeInteger(ttl) || ttl < 0) throw invalidField('ttl_seconds', 'must be a non-negative whole number');
}

export class TokenStore {
  readonly #db: DbConnector;

  /** The pool's schema must hold the auth tables (migrateAuth). */
  constructor(readonly pool: pg.Pool) {
    this.#db = new DbConnector(pool);
  }

  /** A new token and its secret; the secret is never available again. Audited as 'token.create' by `actor`. */
  async createToken(spec: NewToken, actor: string): Promise<{ token: TokenInfo; secret: string }> {
    checkSpec(spec);
    const id = newTokenId();
    const secret = newSecret(id);
    const ttl = spec.ttlSeconds || null;
    await this.#db.transaction(async (client) => {
      await client.query(
        `INSERT INTO auth_tokens (id, name, hash, expires_at)
         VALUES ($1, $2, $3, CASE WHEN $4::int IS NULL THEN NULL ELSE now() + make_interval(secs => $4::int) END)`,
        [id, spec.name, hashSecret(secret), ttl],
      );
      for (const [project, role] of spec.roles) {
        await client.query('INSERT INTO auth_token_roles (token_id, project, role) VALUES ($1, $2, $3)', [id, project, role]);
      }
      await recordAudit(client, {
        actor, action: 'token.create', target: id,
        details: { name: spec.name, roles: Object.fromEntries(spec.roles), ttlSeconds: ttl },
      });
    });
    return { token: await this.#get(id), secret };
  }

  /** Revokes at once (the first revocation's time stays); NOT_FOUND for an unknown id. Audited as 'token.revoke'. */
  async revokeToken(id: string, actor: string): Promise<void> {
    await this.#db.transaction(async (client) => {
      const { rowCount } = await client.query('UPDATE auth_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1', [id]);
      if (rowCount === 0) throw notFound(`token '${id}'`);
      await recordAudit(client, { actor, action: 'token.revoke', target: id });
    });
  }

  /** Every token, revoked and expired ones included, oldest first. */
  async listTokens(): Promise<TokenInfo[]> {
    const rows = await this.#db.execute<TokenRow>(`${SELECT_TOKENS} ORDER BY t.created_at, t.id`, [], 'all');
    return rows.map(infoOf);
  }

  /** The principal a secret stands for; null when it is malformed, unknown, wrong, revoked or expired. */
  async verify(secret: string): Promise<TokenPrincipal | null> {
    const id = tokenIdOf(secret);
    if (id === undefined) return null;
    const row = await this.#row(id);
    if (!row || !secretMatches(secret, row.hash) || !row.usable) return null;
    const info = infoOf(row);
    return { kind: 'token', tokenId: info.id, name: info.name, roles: info.roles };
  }

  async #get(id: string): Promise<TokenInfo> {
    const row = await this.#row(id);
    if (!row) throw notFound(`token '${id}'`);
    return infoOf(row);
  }

  async #row(id: string): Promise<TokenRow | undefined> {
    return (await this.#db.execute<TokenRow>(`${SELECT_TOKENS} WHERE t.id = $1`, [id], 'one'))[0];
  }
}

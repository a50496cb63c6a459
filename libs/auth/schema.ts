/**
 * The auth tables (tokens, their roles, the audit trail), migrated with their
 * own migrations table so they live beside any service's schema.
 */
import type pg from 'pg';
import { migrate, type Migration } from '../db/index.js';
import { ROLES } from './roles.js';

const roleList = ROLES.map((r) => `'${r}'`).join(', ');

export const AUTH_MIGRATIONS: readonly Migration[] = [
  {
    id: '0001_tokens',
    sql: `
      CREATE TABLE auth_tokens (
        id         text PRIMARY KEY,
        name       text NOT NULL,
        -- SHA-256 of the whole secret: the secret itself is never stored.
        hash       bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        revoked_at timestamptz
      );
      CREATE TABLE auth_token_roles (
        token_id text NOT NULL REFERENCES auth_tokens (id) ON DELETE CASCADE,
        project  text NOT NULL,
        role     text NOT NULL CHECK (role IN (${roleList})),
        PRIMARY KEY (token_id, project)
      );`,
  },
  {
    id: '0002_audit',
    sql: `
      CREATE TABLE auth_audit_events (
        id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        time    timestamptz NOT NULL DEFAULT now(),
        actor   text NOT NULL,
        action  text NOT NULL,
        project text NOT NULL DEFAULT '',
        target  text NOT NULL DEFAULT '',
        details jsonb NOT NULL DEFAULT '{}'
      );
      CREATE INDEX auth_audit_events_project ON auth_audit_events (project, id);
      -- Append-only for every role but a superuser disabling the trigger: a REVOKE would not bind the table's owner.
      CREATE FUNCTION auth_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'auth_audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
      END $$;
      CREATE TRIGGER auth_audit_no_change BEFORE UPDATE OR DELETE ON auth_audit_events
        FOR EACH ROW EXECUTE FUNCTION auth_audit_append_only();
      CREATE TRIGGER auth_audit_no_truncate BEFORE TRUNCATE ON auth_audit_events
        FOR EACH STATEMENT EXECUTE FUNCTION auth_audit_append_only();`,
  },
];

export const AUTH_MIGRATIONS_TABLE = 'auth_migrations';

/** Creates or updates the auth tables in the pool's schema. */
export const migrateAuth = (pool: pg.Pool): Promise<string[]> => migrate(pool, AUTH_MIGRATIONS, { table: AUTH_MIGRATIONS_TABLE });

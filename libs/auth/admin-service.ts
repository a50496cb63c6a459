/**
 * aide.v1.AdminService: API tokens and the audit trail, for administrators of
 * every project (a '*' = admin token, or a mesh peer). Plain handlers over the
 * token store; the controller serves them next to its own service.
 */
import { AdminServiceService, Role as ProtoRole, type ApiToken, type ProjectRole } from '../gen/aide/v1/admin.js';
import { invalidField } from '../errors.js';
import { implement, type CallContext, type ImplementOptions, type ServiceEntry, type ServiceHandlers } from '../grpc/index.js';
import { actorOf, listAuditEvents } from './audit.js';
import { ANY_PROJECT, requireRole, type Role } from './roles.js';
import type { TokenInfo, TokenStore } from './tokens.js';

export const ADMIN_SERVICE_NAME = 'aide.v1.AdminService';

const TO_PROTO: Record<Role, ProtoRole> = {
  viewer: ProtoRole.ROLE_VIEWER,
  annotator: ProtoRole.ROLE_ANNOTATOR,
  trainer: ProtoRole.ROLE_TRAINER,
  admin: ProtoRole.ROLE_ADMIN,
};
const FROM_PROTO = new Map(Object.entries(TO_PROTO).map(([role, proto]) => [proto, role as Role]));

function rolesFrom(list: readonly ProjectRole[]): Map<string, Role> {
  const roles = new Map<string, Role>();
  for (const { project, role } of list) {
    const name = FROM_PROTO.get(role);
    if (!name) throw invalidField('roles', `project '${project}' has no role`);
    if (roles.has(project)) throw invalidField('roles', `project '${project}' is named twice`);
    roles.set(project, name);
  }
  return roles;
}

const apiToken = (t: TokenInfo): ApiToken => ({
  id: t.id,
  name: t.name,
  roles: [...t.roles].map(([project, role]) => ({ project, role: TO_PROTO[role] })),
  createdAt: t.createdAt,
  expiresAt: t.expiresAt ?? undefined,
  revokedAt: t.revokedAt ?? undefined,
});

const requireGlobalAdmin = (ctx: CallContext): void => requireRole(ctx.principal, ANY_PROJECT, 'admin');

export function adminHandlers(tokens: TokenStore): ServiceHandlers<typeof AdminServiceService> {
  return {
    async createApiToken(req, ctx) {
      requireGlobalAdmin(ctx);
      const { token, secret } = await tokens.createToken(
        { name: req.name, roles: rolesFrom(req.roles), ttlSeconds: req.ttlSeconds }, actorOf(ctx.principal));
      return { token: apiToken(token), secret };
    },
    async revokeApiToken(req, ctx) {
      requireGlobalAdmin(ctx);
      await tokens.revokeToken(req.id, actorOf(ctx.principal));
      return {};
    },
    async listApiTokens(_req, ctx) {
      requireGlobalAdmin(ctx);
      return { tokens: (await tokens.listTokens()).map(apiToken) };
    },
    async listAuditEvents(req, ctx) {
      requireGlobalAdmin(ctx);
      const page = await listAuditEvents(tokens.pool, req);
      return {
        events: page.events.map(({ details, ...event }) => ({ ...event, detailsJson: JSON.stringify(details) })),
        nextPageToken: page.nextPageToken,
      };
    },
  };
}

/** The AdminService ready for startServer; `options.middleware` must authenticate (authenticate()). */
export function adminServiceEntry(tokens: TokenStore, options: ImplementOptions): ServiceEntry {
  return {
    name: ADMIN_SERVICE_NAME,
    definition: AdminServiceService,
    implementation: implement(AdminServiceService, adminHandlers(tokens), options),
  };
}

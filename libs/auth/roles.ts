/**
 * Project roles, ordered: each includes the ones before it. A token grants a
 * role per project ('*' = every project); a mesh peer (mTLS) may do anything;
 * an anonymous caller nothing.
 */
import { permissionDenied, unauthenticated } from '../errors.js';
import type { Principal } from '../grpc/context.js';

export const ROLES = ['viewer', 'annotator', 'trainer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The grant key that covers every project. */
export const ANY_PROJECT = '*';

const rank = (role: string | undefined): number => (role === undefined ? -1 : ROLES.indexOf(role as Role));

export const isRole = (value: string): value is Role => rank(value) >= 0;

/** Whether the principal holds `role` (or a higher one) on `project`, directly or through '*'. */
export function hasRole(principal: Principal, project: string, role: Role): boolean {
  switch (principal.kind) {
    case 'peer': return true;
    case 'anonymous': return false;
    case 'token': {
      const held = Math.max(rank(principal.roles.get(project)), rank(principal.roles.get(ANY_PROJECT)));
      return held >= rank(role);
    }
  }
}

/** Throws UNAUTHENTICATED for an anonymous caller, PERMISSION_DENIED for one lacking the role. */
export function requireRole(principal: Principal, project: string, role: Role): void {
  if (principal.kind === 'anonymous') throw unauthenticated('this call needs credentials (authorization: Bearer <token>)');
  if (!hasRole(principal, project, role)) throw permissionDenied(`needs role '${role}' on project '${project}'`);
}

/** Throws UNAUTHENTICATED for an anonymous caller. */
export function requireAuthenticated(principal: Principal): void {
  if (principal.kind === 'anonymous') throw unauthenticated('this call needs credentials (authorization: Bearer <token>)');
}

/** Whether the principal may see the project at all (any role); peers see everything. */
export const canSee = (principal: Principal, project: string): boolean => hasRole(principal, project, 'viewer');

/** The projects a token names explicitly, or undefined when it sees them all (peer, or a '*' grant). */
export function visibleProjects(principal: Principal): string[] | undefined {
  if (principal.kind === 'peer') return undefined;
  if (principal.kind === 'anonymous') return [];
  if (rank(principal.roles.get(ANY_PROJECT)) >= 0) return undefined;
  return [...principal.roles.keys()].filter((p) => canSee(principal, p));
}

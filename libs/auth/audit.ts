/**
 * The audit trail: who did what to which project, in an append-only table
 * (schema.ts forbids UPDATE, DELETE and TRUNCATE at the database).
 */
import type pg from 'pg';
import { invalidField } from '../errors.js';
import type { Principal } from '../grpc/context.js';

export interface AuditEventInput {
  /** Who acted: actorOf(principal), or e.g. 'cli:<os user>'. */
  actor: string;
  /** Dotted verb, e.g. 'token.create', 'job.start', 'model_state.export'. */
  action: string;
  /** '' for events not tied to one project. */
  project?: string;
  /** The object acted on (a token id, a job id, …). */
  target?: string;
  /** Anything else worth keeping; never secrets. */
  details?: Record<string, unknown>;
}

export interface AuditEvent extends Required<AuditEventInput> {
  id: number;
  time: Date;
}

export interface AuditPage {
  events: AuditEvent[];
  /** '' on the last page. */
  nextPageToken: string;
}

/** A pool, or a transaction's client so the event commits together with what it records. */
export type Queryable = pg.Pool | pg.PoolClient;

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

/** How a principal appears in the audit trail. */
export function actorOf(principal: Principal): string {
  switch (principal.kind) {
    case 'anonymous': return 'anonymous';
    case 'peer': return `peer:${principal.identity}`;
    case 'token': return `token:${principal.tokenId}`;
  }
}

export async function recordAudit(db: Queryable, event: AuditEventInput): Promise<void> {
  await db.query(
    'INSERT INTO auth_audit_events (actor, action, project, target, details) VALUES ($1, $2, $3, $4, $5)',
    [event.actor, event.action, event.project ?? '', event.target ?? '', JSON.stringify(event.details ?? {})],
  );
}

// The page token is the last id seen: events are listed newest first, so the next page starts below it.
const encodePageToken = (id: number): string => Buffer.from(String(id)).toString('base64url');

function decodePageToken(token: string): number | undefined {
  if (token === '') return undefined;
  const id = Number(Buffer.from(token, 'base64url').toString());
  if (!Number.isSafeInteger(id) || id < 1) throw invalidField('page_token', 'is not a token this server issued');
  return id;
}

interface EventRow { id: string; time: Date; actor: string; action: string; project: string; target: string; details: Record<string, unknown> }

/** Newest first; `project` narrows to one project's events. */
export async function listAuditEvents(
  db: Queryable,
  opts: { project?: string; pageSize?: number; pageToken?: string } = {},
): Promise<AuditPage> {
  const pageSize = Math.min(opts.pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  const before = decodePageToken(opts.pageToken ?? '');
  const { rows } = await db.query<EventRow>(
    `SELECT id, time, actor, action, project, target, details FROM auth_audit_events
      WHERE ($1::text IS NULL OR project = $1) AND ($2::bigint IS NULL OR id < $2)
      ORDER BY id DESC LIMIT $3`,
    [opts.project || null, before ?? null, pageSize + 1],
  );
  const events = rows.slice(0, pageSize).map((r) => ({ ...r, id: Number(r.id) }));
  const more = rows.length > pageSize;
  return { events, nextPageToken: more ? encodePageToken(events.at(-1)!.id) : '' };
}

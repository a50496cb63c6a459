/** Small SQL text helpers shared by libs/db. */

/** Quotes one identifier for SQL: `my "x"` → `"my ""x"""`. */
export function quoteIdent(name: string): string {
  if (name.length === 0) throw new Error('empty SQL identifier');
  if (name.includes('\u0000')) throw new Error('SQL identifier contains a NUL character');
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a possibly schema-qualified name: `a.b` → `"a"."b"`. */
export function quoteQualified(name: string): string {
  return name.split('.').map(quoteIdent).join('.');
}

/** The PostgreSQL error code (SQLSTATE) of a driver error, if any. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A lost or refused database connection — terminated by an administrator
 * (pg_terminate_backend), a server shutting down or restarting, the network —
 * rather than a bug: the call is worth trying again.
 */
export function isConnectionLoss(err: unknown): boolean {
  const code = sqlState(err);
  if (code !== undefined && (code.startsWith('08') || ['57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET'].includes(code))) return true;
  return err instanceof Error && /^Connection terminated/.test(err.message);
}

/** Hides the password of a connection URL, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:\/\/([^:/@]*):[^@]*@/, '://$1:***@');
  }
}

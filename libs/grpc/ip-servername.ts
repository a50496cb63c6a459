/**
 * grpc-js (1.14) always hands the target's host to tls.connect as `servername`
 * (SNI); `grpc.ssl_target_name_override` only replaces it with another name.
 * For an IP target (127.0.0.1, a pod IP) Node then warns once per process:
 * "[DEP0123] Setting the TLS ServerName to an IP address is not permitted by
 * RFC 6066" (grpc/grpc-node#1919, open). Nothing is wrong on our side — the
 * certificate is still checked against the IP (its IP SAN) — and there is no
 * option to leave SNI out, so that one warning, and only it, is dropped.
 * Installed by whatever creates TLS channel credentials.
 */
let installed = false;

export function quietIpServernameWarning(): void {
  if (installed) return;
  installed = true;
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
    if (code === 'DEP0123' || (warning instanceof Error && (warning as NodeJS.ErrnoException).code === 'DEP0123')) return;
    emitWarning(warning, ...rest);
  }) as typeof process.emitWarning;
}

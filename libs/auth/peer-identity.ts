/**
 * The identity of a mesh peer, read from its CA-verified client certificate:
 * the first URI SAN (e.g. spiffe://aide/worker), else the first DNS SAN,
 * else the subject CN.
 */
import type { PeerCertificate } from 'node:tls';

// Node writes SANs as "DNS:a, URI:b"; entries holding separators come quoted, and those are skipped.
const SAN_ENTRY = /^(URI|DNS):([^\s,"]+)$/;

function sans(cert: PeerCertificate): Map<string, string> {
  const first = new Map<string, string>();
  for (const entry of (cert.subjectaltname ?? '').split(', ')) {
    const match = SAN_ENTRY.exec(entry);
    if (match && !first.has(match[1]!)) first.set(match[1]!, match[2]!);
  }
  return first;
}

export function peerIdentity(cert: PeerCertificate): string | undefined {
  const names = sans(cert);
  const cn = cert.subject?.CN;
  return names.get('URI') ?? names.get('DNS') ?? (typeof cn === 'string' && cn !== '' ? cn : undefined);
}

/**
 * An HTTP/2 server beside a service's gRPC port, for bulk bytes (the
 * controller's state lane): TLS with the service's key and certificate unless
 * the mesh runs plaintext. Flow-control windows of 16 MiB per stream and 64 MiB
 * per connection: with HTTP/2's default 64 KiB, an upload would wait for the
 * server's acknowledgement every 64 KiB.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { bindPort } from '../config/setting-error.js';
import { requireFiles, type TlsSettings } from '../grpc/credentials.js';

/** Both ends' HTTP/2 settings and connection window for bulk bytes (a lane's clients use them too). */
export const BULK_HTTP2_SETTINGS = { initialWindowSize: 16 << 20, maxFrameSize: (1 << 24) - 1 };
export const BULK_SESSION_WINDOW = 64 << 20;

export interface Http2Lane {
  /** host:port it listens on. */
  address: string;
  /** Stops listening; transfers under way get `deadlineMs` to finish, then their sessions are destroyed. */
  close(deadlineMs: number): Promise<void>;
}

export async function serveHttp2(opts: {
  section: string; key: string; host: string; port: number; tls: TlsSettings;
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;
}): Promise<Http2Lane> {
  const settings = BULK_HTTP2_SETTINGS;
  const server = opts.tls.plaintext ? http2.createServer({ settings }) : http2.createSecureServer({ settings, ...requireFiles(opts.tls) });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.on('error', () => {}); // a client gone: its streams end with it
    session.once('localSettings', () => session.setLocalWindowSize(BULK_SESSION_WINDOW));
  });
  server.on('stream', opts.onStream);
  await bindPort({ section: opts.section, key: opts.key, host: opts.host, port: opts.port }, () => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => { server.off('error', reject); resolve(); });
  }));
  const { address, port } = server.address() as AddressInfo;
  return {
    address: `${address.includes(':') ? `[${address}]` : address}:${port}`,
    async close(deadlineMs) {
      server.close();
      for (const s of sessions) s.close();
      // Sessions end once their transfers have; a client that keeps one busy past the deadline loses it.
      const until = Date.now() + deadlineMs;
      while ([...sessions].some((s) => !s.destroyed) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      for (const s of sessions) s.destroy();
    },
  };
}

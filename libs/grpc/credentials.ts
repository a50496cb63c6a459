import { accessSync, constants } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { SettingError, settingName } from '../config/setting-error.js';
import { quietIpServernameWarning } from './ip-servername.js';

/** The [Security] settings every service reads. */
export interface TlsSettings {
  /** Plaintext must be asked for explicitly (the embedded demo); otherwise TLS is required. */
  plaintext: boolean;
  certFile?: string;
  keyFile?: string;
  /** CA that signs the mesh's certificates; with it, servers verify client certificates (mTLS). */
  caFile?: string;
  /**
   * With a CA: refuse clients without a certificate (default). False for a public port (the controller's)
   * that mesh peers reach with certificates and users with API tokens: a certificate is then asked for,
   * verified when given, and optional.
   */
  requireClientCert?: boolean;
  /** How often certificate files are re-read, so rotated Kubernetes secrets apply without restart. */
  refreshMs?: number;
}

/**
 * The certificate providers read their files in the background and would only
 * fail handshakes later, far from the cause: an unreadable file fails start-up
 * here, naming its setting.
 */
function readable(file: string, key: 'tls_cert' | 'tls_key' | 'tls_ca'): string {
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    throw new SettingError(`cannot read ${file}, named by ${settingName('Security', key)}: ${(err as Error).message}`, { cause: err });
  }
  return file;
}

/** The server's certificate and key (read now), or a SettingError naming what is missing. */
export function requireFiles(s: TlsSettings): { cert: string; key: string } {
  if (!s.certFile || !s.keyFile) {
    throw new SettingError('TLS needs [Security] tls_cert and tls_key (AIDE_SECURITY_TLS_CERT / _KEY); set [Security] plaintext = true to run without TLS');
  }
  return { cert: readable(s.certFile, 'tls_cert'), key: readable(s.keyFile, 'tls_key') };
}

function provider(s: TlsSettings, files: { cert?: string; key?: string; ca?: string }): grpc.experimental.CertificateProvider {
  return new grpc.experimental.FileWatcherCertificateProvider({
    certificateFile: files.cert,
    privateKeyFile: files.key,
    caCertificateFile: files.ca,
    refreshIntervalMs: s.refreshMs ?? 10_000,
  });
}

/** Server side: plaintext, TLS, or mTLS (client certificates verified when a CA is given), reloaded from disk. */
export function serverCredentials(s: TlsSettings): grpc.ServerCredentials {
  if (s.plaintext) return grpc.ServerCredentials.createInsecure();
  const { cert, key } = requireFiles(s);
  const identity = provider(s, { cert, key });
  // Without a CA no client certificate is asked for: null, not a provider that never yields a CA (with one,
  // grpc-js waits for a CA update forever and drops every handshake).
  const ca = s.caFile ? provider(s, { ca: readable(s.caFile, 'tls_ca') }) : null;
  // grpc-js 1.14 hands this function's first two arguments to its constructor swapped
  // (the server would have no certificate), so the identity provider goes first.
  return grpc.experimental.createCertificateProviderServerCredentials(identity, ca, Boolean(s.caFile) && s.requireClientCert !== false);
}

/** Client side: the mesh's own certificate (for mTLS) and the CA it trusts. */
export function channelCredentials(s: TlsSettings): grpc.ChannelCredentials {
  if (s.plaintext) return grpc.credentials.createInsecure();
  if (!s.caFile) throw new SettingError('TLS clients need [Security] tls_ca (AIDE_SECURITY_TLS_CA)');
  quietIpServernameWarning();
  const identity = s.certFile && s.keyFile ? provider(s, { cert: readable(s.certFile, 'tls_cert'), key: readable(s.keyFile, 'tls_key') }) : null;
  return grpc.experimental.createCertificateProviderChannelCredentials(provider(s, { ca: readable(s.caFile, 'tls_ca') }), identity);
}

import type { Config } from '../config/config.js';
import type { TlsSettings } from '../grpc/credentials.js';

/** [Security] as the gRPC credential helpers need it. */
export function tlsSettings(config: Config): TlsSettings {
  return {
    plaintext: config.getProperty('Security', 'plaintext', 'bool', false),
    certFile: config.getProperty('Security', 'tls_cert', 'str', '') || undefined,
    keyFile: config.getProperty('Security', 'tls_key', 'str', '') || undefined,
    caFile: config.getProperty('Security', 'tls_ca', 'str', '') || undefined,
    requireClientCert: config.getProperty('Security', 'require_client_cert', 'bool', true),
  };
}

/** Where a service listens and how long it drains: the same keys in every service's section. */
export function listenSettings(config: Config, section: string, defaultPort: number) {
  return {
    host: config.getProperty(section, 'host', 'str', '0.0.0.0'),
    port: config.getProperty(section, 'port', 'int', defaultPort),
    drainDeadlineMs: config.getProperty(section, 'drain_deadline_s', 'float', 20) * 1000,
    reflection: config.getProperty('Security', 'reflection', 'bool', true),
  };
}

/** [NATS] url, stream, subject_prefix as createBus options (no url: the in-process bus). */
export function busOptions(config: Config) {
  const url = config.getProperty('NATS', 'url', 'str', '');
  return {
    natsUrl: url || undefined,
    stream: config.getProperty('NATS', 'stream', 'str', '') || undefined,
    subjectPrefix: config.getProperty('NATS', 'subject_prefix', 'str', '') || undefined,
  };
}

/** A comma-separated list setting, blanks dropped. */
export function listSetting(config: Config, section: string, key: string): string[] {
  return config.getProperty(section, key, 'str', '').split(',').map((s) => s.trim()).filter(Boolean);
}

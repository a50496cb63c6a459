import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { quietIpServernameWarning } from '../../libs/grpc/ip-servername.js';
import { UsageError } from './failure.js';

export interface TlsOptions {
  plaintext?: boolean;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

/** The file an option names, read now (null without the option); a UsageError if it cannot be read. */
export function readOption(file: string | undefined, option: string): Buffer | null {
  if (file === undefined) return null;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new UsageError(`${option}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * Channel credentials from the global options. Files are read once: a CLI call
 * is short-lived, so the services' certificate reloading (libs/grpc/credentials)
 * buys nothing here. Without --tls-ca the system's roots are trusted.
 */
export function credentialsFrom(o: TlsOptions): grpc.ChannelCredentials {
  if (o.plaintext) return grpc.credentials.createInsecure();
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  quietIpServernameWarning();
  return grpc.credentials.createSsl(readOption(o.tlsCa, '--tls-ca'), readOption(o.tlsKey, '--tls-key'), readOption(o.tlsCert, '--tls-cert'));
}

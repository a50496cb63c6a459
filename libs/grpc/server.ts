import * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { ReflectionService } from '@grpc/reflection';
import type { Logger } from '../log.js';
import { reflectionDefinition } from './descriptors.js';
import { withChunkCodecs } from './chunk-codec.js';
import { MAX_MESSAGE_BYTES } from './limits.js';

export const HEALTH_SERVICE = 'grpc.health.v1.Health';

export interface ServiceEntry {
  /** Fully qualified name, e.g. "aide.v1.FileService": the health and reflection key. */
  name: string;
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

export interface ServerOptions {
  name: string;
  host?: string;
  port: number;
  services: ServiceEntry[];
  credentials?: grpc.ServerCredentials;
  reflection?: boolean;
  logger: Logger;
  /** Aborted when shutdown begins: implement() ends long streams with it. */
  shutdownController?: AbortController;
}

export interface RunningServer {
  port: number;
  address: string;
  server: grpc.Server;
  setStatus(service: string, status: ServingStatus): void;
  /** Stops taking calls (health NOT_SERVING), lets running calls finish until the deadline, then forces. */
  shutdown(deadlineMs: number): Promise<void>;
}

/** One way to start every service: health with per-service status, reflection, limits, keepalive. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 10_000,
  });
  const names = options.services.map((s) => s.name);
  const health = new HealthImplementation(Object.fromEntries([['', 'SERVING'], ...names.map((n) => [n, 'SERVING'])]));
  health.addToServer(server);
  if (options.reflection !== false) {
    new ReflectionService(reflectionDefinition(), { services: [...names, HEALTH_SERVICE] }).addToServer(server);
  }
  for (const s of options.services) server.addService(withChunkCodecs(s.definition), s.implementation);

  const host = options.host ?? '0.0.0.0';
  const credentials = options.credentials ?? grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${options.port}`, credentials, (err, bound) => (err ? reject(err) : resolve(bound))));
  const address = `${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  options.logger.info({ address, services: names }, `${options.name} listening`);

  let closing: Promise<void> | undefined;
  return {
    port,
    address,
    server,
    setStatus: (service, status) => health.setStatus(service, status),
    shutdown(deadlineMs) {
      closing ??= new Promise<void>((resolve) => {
        for (const n of ['', ...names]) health.setStatus(n, 'NOT_SERVING');
        const force = setTimeout(() => {
          options.logger.warn({ deadlineMs }, `${options.name}: drain deadline passed, cancelling remaining calls`);
          options.shutdownController?.abort(new Error('server shutting down'));
          server.forceShutdown();
          resolve();
        }, deadlineMs);
        force.unref();
        server.tryShutdown(() => { clearTimeout(force); resolve(); });
      });
      return closing;
    },
  };
}

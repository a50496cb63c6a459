/**
 * grpc.health.v1 Health/Watch of one service over an existing client's
 * channel: the server pushes each change of its status, so a caller learns
 * at once that a server began draining (NOT_SERVING) or went away (the
 * stream breaks).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';

export type HealthStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

interface WatchMethod {
  path: string;
  requestSerialize: (request: { service: string }) => Buffer;
  responseDeserialize: (bytes: Buffer) => { status: HealthStatus };
}

let watchMethod: WatchMethod | undefined;
const method = (): WatchMethod => {
  watchMethod ??= (protoLoader.loadSync(protoPath, { keepCase: true, enums: String }) as unknown as
    Record<string, Record<string, WatchMethod>>)['grpc.health.v1.Health']!['Watch']!;
  return watchMethod;
};

export interface HealthWatch {
  /** Ends the watch (the server then holds no call of ours while it drains). */
  cancel(): void;
}

/** Calls onStatus for every status the server reports and onEnd once when the stream ends for any reason. */
export function watchHealth(client: grpc.Client, service: string, handlers: { onStatus(status: HealthStatus): void; onEnd(): void }): HealthWatch {
  const m = method();
  const call = client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, { service }, new grpc.Metadata(), {});
  let ended = false;
  const end = () => { if (!ended) { ended = true; handlers.onEnd(); } };
  call.on('data', (response: { status: HealthStatus }) => handlers.onStatus(response.status));
  call.on('error', end); // includes CANCELLED after cancel()
  call.on('end', end);
  call.on('close', end);
  return { cancel: () => call.cancel() };
}

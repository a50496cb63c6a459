import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';

type HealthClient = grpc.Client & {
  check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
  watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
};

export function healthClient(address: string, credentials = grpc.credentials.createInsecure()): HealthClient {
  const def = protoLoader.loadSync(protoPath, { keepCase: true, enums: String });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: new (a: string, c: grpc.ChannelCredentials) => HealthClient } } } };
  return new pkg.grpc.health.v1.Health(address, credentials);
}

/** grpc.health.v1 Check of one service ('' = the server as a whole). */
export async function checkHealth(address: string, service = '', credentials = grpc.credentials.createInsecure()): Promise<string> {
  const client = healthClient(address, credentials);
  try {
    return await new Promise<string>((resolve, reject) =>
      client.check({ service }, (err, res) => (err ? reject(err) : resolve(res!.status))));
  } finally {
    client.close();
  }
}

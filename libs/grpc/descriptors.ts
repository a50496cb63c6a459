import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath as healthProtoPath } from 'grpc-health-check';

/** The repository's proto/ folder: the single source of truth of the API. */
export const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));

let cached: protoLoader.PackageDefinition | undefined;

/**
 * Dynamic descriptors of every aide.v1 service plus grpc.health.v1, loaded
 * from the same .proto files ts-proto generates from (for server reflection).
 */
export function packageDefinition(): protoLoader.PackageDefinition {
  if (cached) return cached;
  const dir = join(PROTO_ROOT, 'aide', 'v1');
  const files = readdirSync(dir).filter((f) => f.endsWith('.proto')).map((f) => join('aide', 'v1', f));
  cached = protoLoader.loadSync([...files, healthProtoPath], {
    includeDirs: [PROTO_ROOT, dirname(healthProtoPath)],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return cached;
}

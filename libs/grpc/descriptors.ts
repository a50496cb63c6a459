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

let reflectionCached: protoLoader.PackageDefinition | undefined;

/**
 * The descriptors as server reflection reads them: every distinct file
 * descriptor once. proto-loader repeats all of a root's file descriptors under
 * each of its ~190 types, and ReflectionService decodes every copy for every
 * server it is built for (~250 ms each; 10 ms from this). It reads nothing
 * but the descriptors, so one entry carrying them is all it needs.
 */
export function reflectionDefinition(): protoLoader.PackageDefinition {
  if (reflectionCached) return reflectionCached;
  const unique = new Map<string, Buffer>();
  let carrier: [string, protoLoader.MessageTypeDefinition<object, object>] | undefined;
  for (const [name, entry] of Object.entries(packageDefinition())) {
    if (!('fileDescriptorProtos' in entry) || !Array.isArray(entry.fileDescriptorProtos)) continue;
    carrier ??= [name, entry as protoLoader.MessageTypeDefinition<object, object>];
    for (const file of entry.fileDescriptorProtos) unique.set(file.toString('base64'), file);
  }
  if (!carrier) throw new Error('no file descriptors in the proto package definition');
  reflectionCached = { [carrier[0]]: { ...carrier[1], fileDescriptorProtos: [...unique.values()] } };
  return reflectionCached;
}

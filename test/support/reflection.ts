import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fromBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';

/**
 * A client that knows nothing of our protos: it learns services and methods
 * purely through gRPC server reflection (v1), as grpcurl does.
 */
const require = createRequire(import.meta.url);
const reflectionRoot = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');

interface ReflectionResponse {
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number; error_message: string };
}

type ReflectionClient = grpc.Client & {
  ServerReflectionInfo(): grpc.ClientDuplexStream<Record<string, string>, ReflectionResponse>;
};

function reflectionClient(address: string, credentials: grpc.ChannelCredentials): ReflectionClient {
  const def = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', { includeDirs: [reflectionRoot], keepCase: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: new (a: string, c: grpc.ChannelCredentials) => ReflectionClient } } };
  };
  return new pkg.grpc.reflection.v1.ServerReflection(address, credentials);
}

async function ask(address: string, request: Record<string, string>, credentials: grpc.ChannelCredentials): Promise<ReflectionResponse> {
  const client = reflectionClient(address, credentials);
  try {
    const call = client.ServerReflectionInfo();
    const reply = new Promise<ReflectionResponse>((resolve, reject) => {
      call.once('data', resolve);
      call.once('error', reject);
    });
    call.write(request);
    call.end();
    const res = await reply;
    if (res.error_response) throw new Error(`reflection error ${res.error_response.error_code}: ${res.error_response.error_message}`);
    return res;
  } finally {
    client.close();
  }
}

export async function listServices(address: string, credentials = grpc.credentials.createInsecure()): Promise<string[]> {
  const res = await ask(address, { list_services: '' }, credentials);
  return res.list_services_response!.service.map((s) => s.name).sort();
}

export interface MethodDescription { name: string; input: string; output: string; clientStreaming: boolean; serverStreaming: boolean }

/** The serialized FileDescriptorProtos the server returns for a symbol: the file defining it and those it imports. */
export async function fileDescriptorsOf(address: string, symbol: string, credentials = grpc.credentials.createInsecure()): Promise<Buffer[]> {
  const res = await ask(address, { file_containing_symbol: symbol }, credentials);
  if (!res.file_descriptor_response) throw new Error(`reflection of ${symbol}: no descriptors`);
  return res.file_descriptor_response.file_descriptor_proto;
}

/** The methods of a service, read from the file descriptor the server returns for the symbol. */
export async function describeService(address: string, service: string, credentials = grpc.credentials.createInsecure()): Promise<MethodDescription[]> {
  const files: FileDescriptorProto[] = (await fileDescriptorsOf(address, service, credentials)).map((b) => fromBinary(FileDescriptorProtoSchema, b));
  const shortName = service.split('.').pop();
  for (const file of files) {
    const svc = file.service.find((s) => `${file.package}.${s.name}` === service || s.name === shortName && file.package === service.split('.').slice(0, -1).join('.'));
    if (svc) {
      return svc.method.map((m) => ({
        name: m.name, input: m.inputType, output: m.outputType,
        clientStreaming: m.clientStreaming ?? false, serverStreaming: m.serverStreaming ?? false,
      }));
    }
  }
  throw new Error(`service ${service} not in the descriptors returned`);
}

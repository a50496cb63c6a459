import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';

/**
 * A client of one service built purely from the server's reflection answer,
 * as grpcurl builds its calls: the FileDescriptorProtos of the file defining
 * the service and of its dependencies become a FileDescriptorSet, and that a
 * dynamic grpc-js client — no generated code, no .proto file of ours.
 */
const require = createRequire(import.meta.url);
const reflectionProto = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');

interface DescriptorAnswer {
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_message: string };
}

type ReflectionStub = grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<object, DescriptorAnswer> };
type StubConstructor = new (address: string, credentials: grpc.ChannelCredentials) => ReflectionStub;

/** The serialized FileDescriptorProtos the server returns for a symbol (the defining file and all it imports). */
async function descriptorsOf(address: string, symbol: string): Promise<Buffer[]> {
  const definition = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', { includeDirs: [reflectionProto], keepCase: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { grpc: { reflection: { v1: { ServerReflection: StubConstructor } } } };
  const stub = new pkg.grpc.reflection.v1.ServerReflection(address, grpc.credentials.createInsecure());
  try {
    const call = stub.ServerReflectionInfo();
    const answer = new Promise<DescriptorAnswer>((resolve, reject) => { call.once('data', resolve); call.once('error', reject); });
    call.end({ file_containing_symbol: symbol });
    const { file_descriptor_response: files, error_response: error } = await answer;
    if (!files) throw new Error(`reflection of ${symbol}: ${error?.error_message ?? 'no descriptors'}`);
    return files.file_descriptor_proto;
  } finally {
    stub.close();
  }
}

function descriptorSet(files: Buffer[]): Buffer {
  const set = create(FileDescriptorSetSchema, { file: files.map((f) => fromBinary(FileDescriptorProtoSchema, f)) });
  return Buffer.from(toBinary(FileDescriptorSetSchema, set));
}

export type DynamicClient = grpc.Client & Record<string, (request: object, metadata: grpc.Metadata, callback: grpc.requestCallback<unknown>) => grpc.ClientUnaryCall>;

export async function reflectedClient(address: string, service: string): Promise<DynamicClient> {
  const definition = protoLoader.loadFileDescriptorSetFromBuffer(descriptorSet(await descriptorsOf(address, service)), { keepCase: true, longs: String, enums: String, defaults: true });
  const methods = definition[service] as grpc.ServiceDefinition | undefined;
  if (!methods) throw new Error(`${service} is not among the reflected descriptors`);
  const Client = grpc.makeGenericClientConstructor(methods, service);
  return new Client(address, grpc.credentials.createInsecure()) as DynamicClient;
}

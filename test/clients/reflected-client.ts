import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileDescriptorsOf } from '../support/reflection.js';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';

/**
 * A client of one service built purely from the server's reflection answer,
 * as grpcurl builds its calls: the FileDescriptorProtos of the file defining
 * the service and of its dependencies become a FileDescriptorSet, and that a
 * dynamic grpc-js client — no generated code, no .proto file of ours.
 */
function descriptorSet(files: Buffer[]): Buffer {
  const set = create(FileDescriptorSetSchema, { file: files.map((f) => fromBinary(FileDescriptorProtoSchema, f)) });
  return Buffer.from(toBinary(FileDescriptorSetSchema, set));
}

export type DynamicClient = grpc.Client & Record<string, (request: object, metadata: grpc.Metadata, callback: grpc.requestCallback<unknown>) => grpc.ClientUnaryCall>;

export async function reflectedClient(address: string, service: string): Promise<DynamicClient> {
  const definition = protoLoader.loadFileDescriptorSetFromBuffer(descriptorSet(await fileDescriptorsOf(address, service)), { keepCase: true, longs: String, enums: String, defaults: true });
  const methods = definition[service] as grpc.ServiceDefinition | undefined;
  if (!methods) throw new Error(`${service} is not among the reflected descriptors`);
  const Client = grpc.makeGenericClientConstructor(methods, service);
  return new Client(address, grpc.credentials.createInsecure()) as DynamicClient;
}

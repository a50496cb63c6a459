/**
 * Exact-size encoding of the messages that carry a BlobChunk (model states,
 * files, large predictions): one allocation of the message's final size and
 * one copy of the chunk's bytes.
 *
 * The generated encoder (ts-proto on @bufbuild/protobuf's BinaryWriter) grows
 * a zero-filled buffer by doubling, shifts a nested message's bytes when its
 * length prefix needs more than one byte, slices the result, and the generated
 * service definition copies that into a Buffer: about six passes over every
 * MiB of a state plus as many short-lived MiB buffers, which a state transfer
 * profile showed as most of the sender's time (and most of its garbage
 * collection). The bytes written here are the generated encoder's, field for
 * field (test/grpc/chunk-codec.test.ts checks both byte equality and that every
 * BlobChunk-carrying message of the proto files is covered); decoding stays
 * generated, since it already hands out views of the received buffer.
 */
import type * as grpc from '@grpc/grpc-js';
import type { BlobChunk } from '../gen/aide/v1/common.js';

/** A chunk at or above this many data bytes takes the exact-size path; smaller messages gain nothing from it. */
export const FAST_CHUNK_BYTES = 16 * 1024;

/** Where a message carries its chunk: the oneof `payload` case and its field number. */
export interface ChunkSite {
  case: string;
  field: number;
  /**
   * The case is a StatePart (worker.proto): index = 1, num_images = 2 and the
   * chunk as field 3 inside it.
   */
  statePart?: boolean;
}

/** Every method with a BlobChunk in its request or response, by gRPC path. */
export const CHUNK_SITES: Readonly<Record<string, { request?: ChunkSite; response?: ChunkSite }>> = {
  '/aide.v1.ControllerService/ImportModelState': { request: { case: 'chunk', field: 2 } },
  '/aide.v1.ControllerService/ExportModelState': { response: { case: 'chunk', field: 2 } },
  '/aide.v1.ControllerService/StreamPredictions': { response: { case: 'imageChunk', field: 2 } },
  '/aide.v1.FileService/GetFile': { response: { case: 'chunk', field: 2 } },
  '/aide.v1.FileService/PutFile': { request: { case: 'chunk', field: 2 } },
  '/aide.v1.FileService/ReadImage': { response: { case: 'chunk', field: 2 } },
  '/aide.v1.RankerService/Rank': { request: { case: 'imageChunk', field: 3 }, response: { case: 'imageChunk', field: 3 } },
  '/aide.v1.WorkerService/Train': { request: { case: 'stateChunk', field: 3 }, response: { case: 'stateChunk', field: 3 } },
  '/aide.v1.WorkerService/Inference': { request: { case: 'stateChunk', field: 3 }, response: { case: 'predictionsChunk', field: 3 } },
  '/aide.v1.WorkerService/AverageStates': { request: { case: 'part', field: 2, statePart: true }, response: { case: 'stateChunk', field: 3 } },
};

interface StatePartLike { index: number; numImages: number; chunk?: BlobChunk | undefined }
type Payload = { payload?: { $case: string; value: unknown } | undefined };

const varintSize = (n: number): number => {
  let size = 1;
  while (n >= 0x80) { n = Math.floor(n / 0x80); size++; }
  return size;
};

/** Writes a non-negative integer (up to 2^53) as a varint; returns the next position. */
function writeVarint(out: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  out[at++] = n;
  return at;
}

/** Size of an optional varint field (omitted at 0, as proto3 does) with a one-byte tag. */
const varintFieldSize = (n: number): number => (n === 0 ? 0 : 1 + varintSize(n));
/** Size of an optional bytes / message field (omitted when empty) with a one-byte tag. */
const bytesFieldSize = (length: number): number => (length === 0 ? 0 : 1 + varintSize(length) + length);

const chunkSize = (c: BlobChunk): number =>
  varintFieldSize(c.offset) + varintFieldSize(c.totalSize) + bytesFieldSize(c.data.byteLength) + bytesFieldSize(c.sha256.byteLength);

const partSize = (p: StatePartLike, chunkBytes: number): number =>
  varintFieldSize(p.index) + varintFieldSize(p.numImages) + (p.chunk ? 1 + varintSize(chunkBytes) + chunkBytes : 0);

function writeVarintField(out: Buffer, at: number, tag: number, n: number): number {
  if (n === 0) return at;
  out[at++] = tag;
  return writeVarint(out, at, n);
}

function writeBytesField(out: Buffer, at: number, tag: number, bytes: Uint8Array): number {
  if (bytes.byteLength === 0) return at;
  out[at++] = tag;
  at = writeVarint(out, at, bytes.byteLength);
  out.set(bytes, at);
  return at + bytes.byteLength;
}

/** Field (number << 3 | 2): length-delimited, one byte for the field numbers used here. */
const lengthTag = (field: number): number => (field << 3) | 2;

function writeChunk(out: Buffer, at: number, c: BlobChunk): number {
  at = writeVarintField(out, at, 8, c.offset);
  at = writeVarintField(out, at, 16, c.totalSize);
  at = writeBytesField(out, at, 26, c.data);
  return writeBytesField(out, at, 34, c.sha256);
}

/** `message`'s encoding where its payload is `site`'s case, or undefined when it is not or its chunk is small. */
export function encodeChunkMessage(site: ChunkSite, message: Payload): Buffer | undefined {
  const payload = message.payload;
  if (payload?.$case !== site.case) return undefined;
  const part = site.statePart ? (payload.value as StatePartLike) : undefined;
  const chunk = part ? part.chunk : (payload.value as BlobChunk);
  if (!chunk || chunk.data.byteLength < FAST_CHUNK_BYTES) return undefined;
  const chunkBytes = chunkSize(chunk);
  const inner = part ? partSize(part, chunkBytes) : chunkBytes;
  const out = Buffer.allocUnsafe(1 + varintSize(inner) + inner);
  let at = 0;
  out[at++] = lengthTag(site.field);
  at = writeVarint(out, at, inner);
  if (part) {
    at = writeVarintField(out, at, 8, part.index);
    at = writeVarintField(out, at, 16, part.numImages);
    out[at++] = lengthTag(3);
    at = writeVarint(out, at, chunkBytes);
  }
  at = writeChunk(out, at, chunk);
  if (at !== out.byteLength) throw new Error(`chunk message encoded to ${at} bytes, sized ${out.byteLength}`);
  return out;
}

function fast<T>(site: ChunkSite | undefined, generated: (value: T) => Buffer): (value: T) => Buffer {
  if (!site) return generated;
  return (value) => encodeChunkMessage(site, value as Payload) ?? generated(value);
}

/** `definition` with the exact-size encoder for the messages CHUNK_SITES names (the others as generated). */
export function withChunkCodecs<S extends grpc.ServiceDefinition>(definition: S): S {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [key, method] of Object.entries(definition) as [string, grpc.MethodDefinition<unknown, unknown>][]) {
    const sites = CHUNK_SITES[method.path];
    out[key] = sites
      ? { ...method, requestSerialize: fast(sites.request, method.requestSerialize), responseSerialize: fast(sites.response, method.responseSerialize) }
      : method;
  }
  return out as S;
}

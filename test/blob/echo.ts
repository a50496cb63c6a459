/**
 * Test helpers: a grpc-js bidi "echo" service for BlobChunk streams (hand-made
 * ServiceDefinition, BlobChunk.encode / decode on the wire), a seeded PRNG
 * payload source, and a chunk writer honouring backpressure.
 */
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { isAideError } from '../../libs/errors.js';
import { BlobChunk } from '../../libs/gen/aide/v1/common.js';
import { collectBlob, StreamParts, toChunks, verifyChunks } from '../../libs/blob/index.js';

const serialize = (c: BlobChunk): Buffer => {
  const bytes = BlobChunk.encode(c).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};
const deserialize = (b: Buffer): BlobChunk => BlobChunk.decode(b);

export const echoService = {
  echo: {
    path: '/aide.test.v1.BlobEcho/Echo',
    requestStream: true,
    responseStream: true,
    requestSerialize: serialize,
    requestDeserialize: deserialize,
    responseSerialize: serialize,
    responseDeserialize: deserialize,
  },
} satisfies grpc.ServiceDefinition;

/**
 * collect: the server reassembles the blob with collectBlob (one buffer), then
 * sends it back with toChunks (views of that buffer).
 * stream: the server passes the verified data straight back, re-chunked; its
 * last chunk (with the hash) goes out only after the incoming hash matched.
 */
export type EchoMode = 'collect' | 'stream';

export interface EchoServer {
  address: string;
  /** Largest message size the server received / sent, bytes on the wire. */
  maxMessageBytes: () => number;
  close: () => Promise<void>;
}

export async function writeChunks(call: grpc.ClientDuplexStream<BlobChunk, BlobChunk> | grpc.ServerDuplexStream<BlobChunk, BlobChunk>, chunks: AsyncIterable<BlobChunk>): Promise<void> {
  for await (const c of chunks) {
    if (!call.write(c)) await once(call, 'drain');
  }
}

export async function startEchoServer(opts: { mode: EchoMode; maxSize: number; chunkSize?: number }): Promise<EchoServer> {
  let maxBytes = 0;
  const measure = (b: Buffer): BlobChunk => { maxBytes = Math.max(maxBytes, b.byteLength); return deserialize(b); };
  const measureOut = (c: BlobChunk): Buffer => { const b = serialize(c); maxBytes = Math.max(maxBytes, b.byteLength); return b; };
  const definition = { echo: { ...echoService.echo, requestDeserialize: measure, responseSerialize: measureOut } };
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024, 'grpc.max_send_message_length': 4 * 1024 * 1024 });
  server.addService(definition, {
    echo: (call: grpc.ServerDuplexStream<BlobChunk, BlobChunk>) => {
      (async () => {
        if (opts.mode === 'collect') {
          const blob = await collectBlob(call, { maxSize: opts.maxSize });
          await writeChunks(call, toChunks(blob, { chunkSize: opts.chunkSize }));
        } else {
          const parts = new StreamParts<BlobChunk>(call);
          const first = await parts.peek();
          const data = verifyChunks(parts.chunks((c) => c), { maxSize: opts.maxSize });
          await writeChunks(call, toChunks(data, { totalSize: first?.totalSize ?? 0, chunkSize: opts.chunkSize }));
        }
        call.end();
      })().catch((err: unknown) => {
        const code = isAideError(err) ? grpc.status[err.kind] : grpc.status.INTERNAL;
        call.emit('error', { code, details: err instanceof Error ? err.message : String(err) });
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return {
    address: `127.0.0.1:${port}`,
    maxMessageBytes: () => maxBytes,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

export const EchoClient = grpc.makeGenericClientConstructor(echoService, 'BlobEcho');

export function echoClient(address: string) {
  const client = new EchoClient(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
    'grpc.max_send_message_length': 4 * 1024 * 1024,
  });
  const echo = (client as unknown as { echo: () => grpc.ClientDuplexStream<BlobChunk, BlobChunk> }).echo.bind(client);
  return { echo, close: () => client.close() };
}

/**
 * A deterministic payload of `size` bytes from a seeded xorshift32, produced in
 * fresh pieces of `pieceSize` bytes (never reused, since chunks may be views of them).
 */
export function* prngPieces(size: number, seed: number, pieceSize = 777_777): Generator<Uint8Array> {
  let x = seed >>> 0 || 1;
  for (let done = 0; done < size; done += pieceSize) {
    const n = Math.min(pieceSize, size - done);
    const words = new Uint32Array(Math.ceil(n / 4));
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13; x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5; x >>>= 0;
      words[i] = x;
    }
    yield new Uint8Array(words.buffer, 0, n);
  }
}

export function prngBytes(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of prngPieces(size, seed)) { out.set(p, at); at += p.byteLength; }
  return out;
}

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { ControllerServiceService } from '../../libs/gen/aide/v1/controller.js';
import { FileServiceService } from '../../libs/gen/aide/v1/fileserver.js';
import { RankerServiceService } from '../../libs/gen/aide/v1/ranker.js';
import { WorkerServiceService } from '../../libs/gen/aide/v1/worker.js';
import { CHUNK_SITES, encodeChunkMessage, FAST_CHUNK_BYTES, withChunkCodecs, type ChunkSite } from '../../libs/grpc/chunk-codec.js';
import { packageDefinition } from '../../libs/grpc/descriptors.js';

const SERVICES: grpc.ServiceDefinition[] = [ControllerServiceService, FileServiceService, RankerServiceService, WorkerServiceService];
const methods = new Map(SERVICES.flatMap((s) => Object.entries(s).map(([key, m]) => [m.path, { key, method: m as grpc.MethodDefinition<unknown, unknown>, service: s }])));

interface Field { name: string; number: number; type: string; typeName: string }
interface MessageType { field: Field[]; oneofDecl: unknown[] }
const typeOf = (name: string): MessageType => (packageDefinition()[`aide.v1.${name}`] as unknown as { type: MessageType }).type;
const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Where the proto files put a BlobChunk in a method's message: the oneof case holding it, directly or one message down. */
function protoSite(typeName: string): ChunkSite | undefined {
  const type = typeOf(typeName);
  for (const f of type.field) {
    if (f.type !== 'TYPE_MESSAGE') continue;
    if (f.typeName === 'BlobChunk') return { case: camel(f.name), field: f.number };
    if (typeOf(f.typeName).field.some((g) => g.typeName === 'BlobChunk')) return { case: camel(f.name), field: f.number, statePart: true };
  }
  return undefined;
}

const chunk = (bytes: number, opts: { offset?: number; totalSize?: number; sha256?: boolean } = {}) => ({
  offset: opts.offset ?? 0, totalSize: opts.totalSize ?? bytes, data: randomBytes(bytes), sha256: opts.sha256 ? randomBytes(32) : new Uint8Array(),
});

const CHUNKS = [
  chunk(FAST_CHUNK_BYTES),
  chunk(1 << 20, { offset: 3 << 20, totalSize: 5_000_000_000 }),
  chunk(1 << 20, { offset: 4_999_000_000, totalSize: 5_000_000_000, sha256: true }), // past 2^32: a 5-byte varint
  chunk(200_000, { totalSize: 0, sha256: true }),
];

function messageFor(site: ChunkSite, c: ReturnType<typeof chunk>, part = { index: 0, numImages: 0 }) {
  return { payload: { $case: site.case, value: site.statePart ? { ...part, chunk: c } : c } };
}

describe('chunk codec', () => {
  it('covers every method whose messages carry a BlobChunk, at the case and field number the proto files give', () => {
    const fromProto: Record<string, { request?: ChunkSite; response?: ChunkSite }> = {};
    for (const [path, { service }] of methods) {
      const name = path.split('/')[2]!;
      const def = (packageDefinition()[`aide.v1.${path.split('/')[1]!.split('.').at(-1)}`] as unknown as Record<string, { requestType: { type: { name: string } }; responseType: { type: { name: string } } }>)[name]!;
      assert.ok(service, path);
      const request = protoSite(def.requestType.type.name);
      const response = protoSite(def.responseType.type.name);
      if (request || response) fromProto[path] = { ...(request ? { request } : {}), ...(response ? { response } : {}) };
    }
    assert.ok(Object.keys(fromProto).length >= 10);
    assert.deepEqual(CHUNK_SITES, fromProto);
  });

  for (const [path, sites] of Object.entries(CHUNK_SITES)) {
    for (const side of ['request', 'response'] as const) {
      const site = sites[side];
      if (!site) continue;
      it(`${path} ${side}: the generated encoder's bytes, in one exact-size buffer`, () => {
        const { key, method, service } = methods.get(path)!;
        const fast = withChunkCodecs(service)[key] as grpc.MethodDefinition<unknown, unknown>;
        const serialize = side === 'request' ? method.requestSerialize : method.responseSerialize;
        const fastSerialize = side === 'request' ? fast.requestSerialize : fast.responseSerialize;
        const parts = site.statePart ? [{ index: 0, numImages: 0 }, { index: 7, numImages: 2 ** 40 }] : [undefined];
        for (const c of CHUNKS) {
          for (const part of parts) {
            const message = messageFor(site, c, part);
            const encoded = encodeChunkMessage(site, message);
            assert.ok(encoded, 'took the exact-size path');
            assert.equal(encoded.buffer.byteLength, encoded.byteLength, "its own buffer, of the exact size");
            assert.deepEqual(encoded, serialize(message));
            assert.deepEqual(fastSerialize(message), encoded);
            const decoded = (side === 'request' ? method.requestDeserialize : method.responseDeserialize)(encoded) as ReturnType<typeof messageFor>;
            assert.deepEqual(decoded.payload.$case, site.case);
          }
        }
      });
    }
  }

  it('leaves small chunks and other cases to the generated encoder', () => {
    const site = CHUNK_SITES['/aide.v1.ControllerService/ImportModelState']!.request!;
    assert.equal(encodeChunkMessage(site, messageFor(site, chunk(FAST_CHUNK_BYTES - 1))), undefined);
    assert.equal(encodeChunkMessage(site, { payload: { $case: 'header', value: {} } }), undefined);
    assert.equal(encodeChunkMessage(site, {}), undefined);
    const { key, service, method } = methods.get('/aide.v1.ControllerService/ImportModelState')!;
    const small = messageFor(site, chunk(100, { sha256: true }));
    assert.deepEqual((withChunkCodecs(service)[key] as grpc.MethodDefinition<unknown, unknown>).requestSerialize(small), method.requestSerialize(small));
  });
});

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { isAideError, type ErrorKind } from '../../libs/errors.js';
import { MAX_MESSAGE_BYTES } from '../../libs/grpc/limits.js';
import { BlobChunk } from '../../libs/gen/aide/v1/common.js';
import { PutFileRequest } from '../../libs/gen/aide/v1/fileserver.js';
import { TrainRequest } from '../../libs/gen/aide/v1/worker.js';
import {
  collectBlob, DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, payload, StreamParts, toChunks, verifyChunks,
} from '../../libs/blob/index.js';
import { echoClient, prngBytes, startEchoServer, writeChunks, type EchoServer } from './echo.js';

const SMALL = 1000;
const sizesFor = (c: number) => [0, 1, c - 1, c, c + 1];
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();
const EMPTY_SHA = sha(new Uint8Array(0));

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}
async function* from<T>(items: Iterable<T>): AsyncGenerator<T> { yield* items; }
const concat = (pieces: Uint8Array[]) => Buffer.concat(pieces);
/** Splits bytes into pieces of the given cycling sizes. */
function split(bytes: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const n = sizes[i % sizes.length]!;
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}
async function rejectsWith(p: Promise<unknown>, kind: ErrorKind, re?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isAideError(err, kind), `expected ${kind}, got ${String(err)}`);
    if (re) assert.match(err.message, re);
    return true;
  });
}
/** Chunks of a valid blob, for corruption tests. */
async function chunksOf(size: number, chunkSize = SMALL): Promise<BlobChunk[]> {
  return all(toChunks(randomBytes(size), { chunkSize }));
}
const clone = (c: BlobChunk): BlobChunk => ({ ...c, data: Buffer.from(c.data), sha256: Buffer.from(c.sha256) });

function checkChunkShape(chunks: BlobChunk[], total: number, chunkSize: number): void {
  assert.equal(chunks.length, Math.max(1, Math.ceil(total / chunkSize)));
  let offset = 0;
  chunks.forEach((c, i) => {
    const last = i === chunks.length - 1;
    assert.equal(c.offset, offset);
    assert.equal(c.totalSize, total);
    assert.ok(Buffer.isBuffer(c.data));
    assert.equal(c.data.length, last ? total - offset : chunkSize);
    assert.equal(c.sha256.length, last ? 32 : 0);
    offset += c.data.length;
    assert.ok(BlobChunk.encode(c).finish().length <= MAX_MESSAGE_BYTES);
  });
  assert.equal(offset, total);
}

describe('toChunks → collectBlob / verifyChunks', () => {
  for (const chunkSize of [SMALL, DEFAULT_CHUNK_SIZE]) {
    for (const size of sizesFor(chunkSize)) {
      it(`round-trips ${size} bytes (chunkSize ${chunkSize}), from one buffer and from a stream`, async () => {
        const payload = randomBytes(size);
        const opts = { chunkSize };
        const chunks = await all(toChunks(payload, opts));
        checkChunkShape(chunks, size, chunkSize);
        assert.deepEqual(chunks.at(-1)!.sha256, sha(payload));
        // Views of the input, no copies.
        for (const c of chunks) if (c.data.length > 0) assert.equal(c.data.buffer, payload.buffer);

        // A stream of odd-sized pieces (sync and async) gives the same chunks.
        const pieces = split(payload, [7, 1, 333, 2500, 0, 999]);
        const streamed = await all(toChunks(pieces, { ...opts, totalSize: size }));
        assert.deepEqual(streamed, chunks);
        assert.deepEqual(await all(toChunks(from(pieces), { ...opts, totalSize: size })), chunks);

        const blob = await collectBlob(from(chunks), { maxSize: size });
        assert.ok(blob.equals(payload));
        const passed = await all(verifyChunks(from(chunks), { maxSize: size }));
        assert.ok(concat(passed).equals(payload));
        // Through the wire format, too.
        const wire = chunks.map((c) => BlobChunk.decode(BlobChunk.encode(c).finish()));
        assert.ok((await collectBlob(from(wire), { maxSize: size })).equals(payload));
      });
    }
  }

  it('sends a zero-size payload as one empty chunk with the hash of ""', async () => {
    const [only, ...rest] = await all(toChunks(new Uint8Array(0), {}));
    assert.equal(rest.length, 0);
    assert.deepEqual({ offset: only!.offset, totalSize: only!.totalSize, data: only!.data.length }, { offset: 0, totalSize: 0, data: 0 });
    assert.deepEqual(only!.sha256, EMPTY_SHA);
    assert.deepEqual(await all(toChunks([], { totalSize: 0 })), [only]);
    assert.equal((await collectBlob(from([only!]), { maxSize: 0 })).length, 0);
  });

  it('keeps every message within 4 MB, even at the largest chunk size and inside oneof wrappers', async () => {
    const payload = Buffer.alloc(2 * MAX_CHUNK_SIZE + 5);
    const chunks = await all(toChunks(payload, { chunkSize: MAX_CHUNK_SIZE }));
    checkChunkShape(chunks, payload.length, MAX_CHUNK_SIZE);
    for (const c of chunks) {
      const big = { ...c, offset: Number.MAX_SAFE_INTEGER, totalSize: Number.MAX_SAFE_INTEGER, sha256: Buffer.alloc(32) };
      assert.ok(TrainRequest.encode({ payload: { $case: 'stateChunk', value: big } }).finish().length <= MAX_MESSAGE_BYTES);
      assert.ok(PutFileRequest.encode({ payload: { $case: 'chunk', value: big } }).finish().length <= MAX_MESSAGE_BYTES);
    }
    await rejectsWith(all(toChunks(payload, { chunkSize: MAX_CHUNK_SIZE + 1 })), 'INVALID_ARGUMENT', /chunkSize/);
    await rejectsWith(all(toChunks(payload, { chunkSize: 0 })), 'INVALID_ARGUMENT', /chunkSize/);
  });

  it('refuses a streamed source whose size differs from totalSize, never sending a final chunk', async () => {
    await rejectsWith(all(toChunks([Buffer.alloc(10)], {})), 'INVALID_ARGUMENT', /totalSize/);
    await rejectsWith(all(toChunks(Buffer.alloc(10), { totalSize: 11 })), 'INVALID_ARGUMENT', /totalSize/);
    await rejectsWith(all(toChunks([Buffer.alloc(2500), Buffer.alloc(1)], { totalSize: 2500, chunkSize: SMALL })), 'INVALID_ARGUMENT', /more than/);
    const got: BlobChunk[] = [];
    await rejectsWith((async () => { for await (const c of toChunks([Buffer.alloc(2000)], { totalSize: 2001, chunkSize: SMALL })) got.push(c); })(),
      'INVALID_ARGUMENT', /ended after 2000/);
    assert.equal(got.length, 2);
    assert.ok(got.every((c) => c.sha256.length === 0));
  });
});

describe('verification failures', () => {
  const both = (chunks: BlobChunk[], maxSize = 1 << 20) => [
    collectBlob(from(chunks), { maxSize }),
    all(verifyChunks(from(chunks), { maxSize })),
  ];

  it('a flipped byte → DATA_LOSS', async () => {
    const chunks = (await chunksOf(3500)).map(clone);
    chunks[1]!.data[17]! ^= 0x01;
    for (const p of both(chunks)) await rejectsWith(p, 'DATA_LOSS', /sha256/);
  });

  it('a wrong, short or missing sha256 → DATA_LOSS; a sha256 before the last chunk → DATA_LOSS', async () => {
    const good = await chunksOf(3500);
    const wrong = good.map(clone); wrong.at(-1)!.sha256[0]! ^= 0xff;
    const missing = good.map(clone); missing.at(-1)!.sha256 = Buffer.alloc(0);
    const short = good.map(clone); short.at(-1)!.sha256 = short.at(-1)!.sha256.subarray(0, 16);
    const early = good.map(clone); early[0]!.sha256 = Buffer.alloc(32);
    for (const p of both(wrong)) await rejectsWith(p, 'DATA_LOSS', /sha256 check/);
    for (const p of both(missing)) await rejectsWith(p, 'DATA_LOSS', /lacks the sha256/);
    for (const p of both(short)) await rejectsWith(p, 'DATA_LOSS', /sha256 of 16 bytes/);
    for (const p of both(early)) await rejectsWith(p, 'DATA_LOSS', /not the last/);
    const empty = (await all(toChunks(new Uint8Array(0), {}))).map(clone);
    empty[0]!.sha256 = Buffer.alloc(0);
    for (const p of both(empty)) await rejectsWith(p, 'DATA_LOSS', /lacks the sha256/);
  });

  it('a truncated stream → DATA_LOSS, also an empty one', async () => {
    const chunks = await chunksOf(3500);
    for (const p of both(chunks.slice(0, -1))) await rejectsWith(p, 'DATA_LOSS', /ended after 3000 of 3500/);
    for (const p of both([])) await rejectsWith(p, 'DATA_LOSS', /before its first chunk/);
  });

  it('non-contiguous offsets, a changing totalSize or data past the end → DATA_LOSS', async () => {
    const chunks = await chunksOf(3500);
    const skipped = [chunks[0]!, chunks[2]!, chunks[3]!];
    const repeated = [chunks[0]!, chunks[0]!, ...chunks.slice(1)];
    const resized = chunks.map(clone); resized[1]!.totalSize = 4000;
    const tooLong = chunks.map(clone); tooLong.at(-1)!.data = Buffer.concat([tooLong.at(-1)!.data, Buffer.alloc(1)]);
    for (const p of both(skipped)) await rejectsWith(p, 'DATA_LOSS', /expected offset 1000/);
    for (const p of both(repeated)) await rejectsWith(p, 'DATA_LOSS', /expected offset 1000/);
    for (const p of both(resized)) await rejectsWith(p, 'DATA_LOSS', /totalSize 4000/);
    for (const p of both(tooLong)) await rejectsWith(p, 'DATA_LOSS', /runs past/);
  });

  it('totalSize over maxSize → RESOURCE_EXHAUSTED at the first chunk, without reading on', async () => {
    const chunks = await chunksOf(10_000);
    for (const run of [
      (src: AsyncIterable<BlobChunk>) => collectBlob(src, { maxSize: 9_999 }),
      (src: AsyncIterable<BlobChunk>) => all(verifyChunks(src, { maxSize: 9_999 })),
    ]) {
      let pulled = 0;
      const source = (async function* () { for (const c of chunks) { pulled++; yield c; } })();
      await rejectsWith(run(source), 'RESOURCE_EXHAUSTED', /10000 bytes exceeds the limit of 9999/);
      assert.equal(pulled, 1, 'only the first chunk was read');
      assert.equal((await source.next()).value, chunks[1], 'the source is left as it was, not closed');
    }
    // Exactly maxSize is fine.
    assert.equal((await collectBlob(from(chunks), { maxSize: 10_000 })).length, 10_000);
  });

  it('an abort signal stops it, also while waiting for a chunk that never comes', async () => {
    const chunks = await chunksOf(3500);
    const stalled = async function* () { yield chunks[0]!; yield chunks[1]!; await new Promise(() => {}); };
    const ac = new AbortController();
    const seen: Buffer[] = [];
    const t = setTimeout(() => ac.abort(), 50);
    await rejectsWith((async () => { for await (const d of verifyChunks(stalled(), { maxSize: 1e6, signal: ac.signal })) seen.push(d); })(), 'CANCELLED');
    clearTimeout(t);
    assert.equal(seen.length, 2);
    const keepAlive = setTimeout(() => {}, 5_000); // AbortSignal.timeout's timer does not hold the event loop open
    await rejectsWith(collectBlob(stalled(), { maxSize: 1e6, signal: AbortSignal.timeout(30) }), 'DEADLINE_EXCEEDED');
    clearTimeout(keepAlive);
    const pre = new AbortController(); pre.abort();
    let pulled = 0;
    await rejectsWith(collectBlob((async function* () { for (const c of chunks) { pulled++; yield c; } })(), { maxSize: 1e6, signal: pre.signal }), 'CANCELLED');
    assert.equal(pulled, 0);
    // Aborting between chunks, while the consumer works.
    const mid = new AbortController();
    await rejectsWith((async () => { for await (const _ of verifyChunks(from(chunks), { maxSize: 1e6, signal: mid.signal })) mid.abort(); })(), 'CANCELLED');
  });
});

describe('StreamParts', () => {
  it('takes a header, then a run of chunks, and leaves the next message in place', async () => {
    const data = randomBytes(2500);
    const messages: TrainRequest[] = [
      { payload: { $case: 'header', value: { jobId: 'j1' } as never } },
      ...(await all(toChunks(data, { chunkSize: SMALL }))).map((value): TrainRequest => ({ payload: { $case: 'stateChunk', value } })),
      { payload: { $case: 'images', value: { images: [] } } },
    ];
    const parts = new StreamParts(from(messages));
    const header = await parts.take(payload('header'), 'header');
    assert.equal((header as { jobId: string }).jobId, 'j1');
    assert.ok((await collectBlob(parts.chunks(payload('stateChunk')), { maxSize: 1e6 })).equals(data));
    await rejectsWith(parts.take(payload('header'), 'header'), 'INVALID_ARGUMENT', /expected a header/);
    assert.deepEqual(await parts.take(payload('images'), 'images'), { images: [] });
    await parts.end();
    await rejectsWith(parts.take(payload('images'), 'images'), 'INVALID_ARGUMENT', /stream ended/);
  });

  it('a run cut short by another message → DATA_LOSS; a message after the end is refused', async () => {
    const chunks = await chunksOf(2500);
    const messages: PutFileRequest[] = [
      { payload: { $case: 'header', value: { project: 'p', path: 'a.bin', size: 2500 } } },
      { payload: { $case: 'chunk', value: chunks[0]! } },
      { payload: { $case: 'header', value: { project: 'p', path: 'b.bin', size: 1 } } },
    ];
    const parts = new StreamParts(from(messages));
    assert.equal((await parts.take(payload('header'), 'header')).path, 'a.bin');
    await rejectsWith(collectBlob(parts.chunks(payload('chunk')), { maxSize: 1e6 }), 'DATA_LOSS', /ended after 1000 of 2500/);
    await rejectsWith(parts.end('the file'), 'INVALID_ARGUMENT', /after the file/);
  });
});

describe('over a real grpc-js stream', () => {
  const servers: Record<string, EchoServer> = {};
  let clients: Record<string, ReturnType<typeof echoClient>> = {};
  before(async () => {
    for (const mode of ['collect', 'stream'] as const) {
      for (const chunkSize of [SMALL, DEFAULT_CHUNK_SIZE]) {
        const key = `${mode}/${chunkSize}`;
        servers[key] = await startEchoServer({ mode, maxSize: 1 << 22, chunkSize });
      }
    }
    clients = Object.fromEntries(Object.entries(servers).map(([k, s]) => [k, echoClient(s.address)]));
  });
  after(async () => {
    for (const c of Object.values(clients)) c.close();
    await Promise.all(Object.values(servers).map((s) => s.close()));
  });

  async function roundTrip(key: string, chunks: AsyncIterable<BlobChunk>): Promise<Buffer> {
    const call = clients[key]!.echo();
    const sending = writeChunks(call, chunks).then(() => call.end());
    const [blob] = await Promise.all([collectBlob(call, { maxSize: 1 << 22 }), sending]);
    return blob;
  }

  for (const mode of ['collect', 'stream'] as const) {
    for (const chunkSize of [SMALL, DEFAULT_CHUNK_SIZE]) {
      it(`echoes sizes 0, 1, c-1, c, c+1 byte-exact (server ${mode}s, chunkSize ${chunkSize})`, async () => {
        const key = `${mode}/${chunkSize}`;
        for (const size of sizesFor(chunkSize)) {
          const payload = prngBytes(size, size + 1);
          const back = await roundTrip(key, toChunks(payload, { chunkSize }));
          assert.ok(back.equals(payload), `size ${size}`);
          assert.deepEqual(sha(back), sha(payload));
        }
        assert.ok(servers[key]!.maxMessageBytes() <= MAX_MESSAGE_BYTES);
      });
    }
  }

  it('a corrupt chunk sent over gRPC comes back as status DATA_LOSS, not as data', async () => {
    for (const mode of ['collect', 'stream']) {
      const chunks = (await chunksOf(3500)).map(clone);
      chunks[2]!.data[0]! ^= 0x80;
      await assert.rejects(roundTrip(`${mode}/${SMALL}`, from(chunks)), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.DATA_LOSS, `${mode}: ${err.message}`);
        return true;
      });
    }
  });

  it('200 MB round trip in a child process: hashes equal, peak RSS < 3 × size, messages ≤ 4 MB', { timeout: 60_000 }, async () => {
    const size = 200_000_000;
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/blob/rss-child.ts', String(size), 'collect'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0);
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as {
      bytes: number; seconds: number; sentSha256: string; receivedSha256: string; maxChunkData: number; maxMessageBytes: number; maxRssBytes: number;
    };
    console.log(`# 200 MB echo: ${r.seconds.toFixed(1)} s, peak RSS ${(r.maxRssBytes / 1e6).toFixed(0)} MB (${(r.maxRssBytes / size).toFixed(2)} × size)`);
    assert.equal(r.bytes, size);
    assert.equal(r.receivedSha256, r.sentSha256);
    assert.equal(r.maxChunkData, DEFAULT_CHUNK_SIZE);
    assert.ok(r.maxMessageBytes <= MAX_MESSAGE_BYTES);
    assert.ok(r.maxRssBytes < 3 * size, `peak RSS ${r.maxRssBytes} ≥ 3 × ${size}`);
    assert.ok(r.seconds < 30);
  });
});

/**
 * Child process of memory.test.ts: moves SIZE bytes through a FileServer
 * (server and client in this one process) and prints one JSON line with the
 * hashes and the peak RSS growth over the idle baseline.
 *
 *   node --import tsx test/fileserver/rss-child.ts <put|get|http> [size=200000000]
 *
 * put: FileServerClient.putFile from a stream of random pieces; get: the
 * GetFile stream checked with verifyChunks; http: GET /files/... read as a
 * stream. Nothing on either side may hold the whole file.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { payload, StreamParts, verifyChunks } from '../../libs/blob/index.js';
import { FileServerClient } from '../../libs/fileserver-client/index.js';
import { createClient, startServer } from '../../libs/grpc/index.js';
import { FileServiceService } from '../../libs/gen/aide/v1/fileserver.js';
import { createLogger } from '../../libs/log.js';
import { startFileHttpServer } from '../../services/fileserver/http.js';
import { fileServiceEntry } from '../../services/fileserver/service.js';
import { openFileStore } from '../../services/fileserver/store.js';

const mode = process.argv[2] ?? 'put';
const size = Number(process.argv[3] ?? 200_000_000);
const PIECE = 1024 * 1024;

function* randomPieces(): Generator<Buffer> {
  for (let done = 0; done < size; done += PIECE) yield randomFillSync(Buffer.allocUnsafe(Math.min(PIECE, size - done)));
}

/** Hashes what passes through. */
function* hashed(pieces: Iterable<Buffer>, hash: ReturnType<typeof createHash>): Generator<Buffer> {
  for (const p of pieces) { hash.update(p); yield p; }
}

const tmp = await mkdtemp(path.join(tmpdir(), 'aide-fs-rss-'));
const store = await openFileStore({ root: path.join(tmp, 'root'), maxPutBytes: size });
const logger = createLogger('rss', 'silent');
const server = await startServer({ name: 'fileserver', host: '127.0.0.1', port: 0, reflection: false, logger, services: [fileServiceEntry(store)] });
const web = await startFileHttpServer({ root: store.root, host: '127.0.0.1', port: 0 });
const grpc = createClient(FileServiceService, server.address);
const files = new FileServerClient({ project: 'p', client: grpc });
const file = path.join(store.root, 'p', 'big.bin');

const sent = createHash('sha256');
if (mode !== 'put') {
  await mkdir(path.dirname(file), { recursive: true });
  await pipeline(Readable.from(hashed(randomPieces(), sent)), createWriteStream(file));
}
// Warm up every code path on a small file so the baseline includes loaded code.
await files.putFile('warm.bin', Buffer.alloc(3 * PIECE, 1));
await files.getFile('warm.bin');
const baseline = process.memoryUsage().rss;

const received = createHash('sha256');
const t0 = performance.now();
if (mode === 'put') {
  await files.putFile('big.bin', (async function* () { yield* hashed(randomPieces(), sent); })(), { size });
} else if (mode === 'get') {
  const parts = new StreamParts(grpc.getFile({ project: 'p', path: 'big.bin', offset: 0, length: 0 }));
  await parts.take(payload('info'), 'info');
  for await (const piece of verifyChunks(parts.chunks(payload('chunk')), { maxSize: size })) received.update(piece);
} else {
  const req = http.get({ host: '127.0.0.1', port: web.port, path: '/files/p/big.bin' });
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  for await (const piece of res) received.update(piece as Buffer);
}
const seconds = (performance.now() - t0) / 1000;
const peak = process.resourceUsage().maxRSS * 1024;
if (mode === 'put') {
  for await (const piece of createReadStream(file)) received.update(piece as Buffer);
}

console.log(JSON.stringify({
  mode, size, seconds,
  sentSha256: sent.digest('hex'),
  receivedSha256: received.digest('hex'),
  baselineRss: baseline,
  peakRss: peak,
  growth: peak - baseline,
}));
grpc.close();
await Promise.all([server.shutdown(1000), web.close()]);
await rm(tmp, { recursive: true, force: true });

/**
 * GetFile throughput: streams one file of SIZE bytes ROUNDS times over a real
 * gRPC connection (loopback, server and client in this process, chunks checked
 * with verifyChunks) and prints MB/s as JSON.
 *
 *   node --import tsx bench/fileserver/grpc-throughput.ts [size=200000000] [rounds=5]
 */
import { randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { payload, StreamParts, verifyChunks } from '../../libs/blob/index.js';
import { createClient, startServer } from '../../libs/grpc/index.js';
import { FileServiceService } from '../../libs/gen/aide/v1/fileserver.js';
import { createLogger } from '../../libs/log.js';
import { fileServiceEntry } from '../../services/fileserver/service.js';
import { openFileStore } from '../../services/fileserver/store.js';

const size = Number(process.argv[2] ?? 200_000_000);
const rounds = Number(process.argv[3] ?? 5);

const tmp = await mkdtemp(path.join(tmpdir(), 'aide-fs-bench-'));
const store = await openFileStore({ root: path.join(tmp, 'root') });
await mkdir(path.join(store.root, 'p'), { recursive: true });
await pipeline(Readable.from((function* () {
  for (let done = 0; done < size; done += 1 << 20) yield randomFillSync(Buffer.allocUnsafe(Math.min(1 << 20, size - done)));
})()), createWriteStream(path.join(store.root, 'p', 'big.bin')));

const server = await startServer({
  name: 'fileserver', host: '127.0.0.1', port: 0, reflection: false, logger: createLogger('bench', 'silent'),
  services: [fileServiceEntry(store)],
});
const client = createClient(FileServiceService, server.address);
const rates: number[] = [];
for (let round = 0; round < rounds; round++) {
  const t0 = performance.now();
  const parts = new StreamParts(client.getFile({ project: 'p', path: 'big.bin', offset: 0, length: 0 }));
  await parts.take(payload('info'), 'info');
  let bytes = 0;
  for await (const piece of verifyChunks(parts.chunks(payload('chunk')), { maxSize: size })) bytes += piece.byteLength;
  rates.push(bytes / 1e6 / ((performance.now() - t0) / 1000));
}
rates.sort((a, b) => a - b);
console.log(JSON.stringify({ size, rounds, medianMBps: rates[Math.floor(rates.length / 2)], bestMBps: rates.at(-1) }));
client.close();
await server.shutdown(1000);
await rm(tmp, { recursive: true, force: true });

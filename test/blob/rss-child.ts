/**
 * Child process of blob.test.ts: sends a PRNG payload of SIZE bytes through a
 * real grpc-js echo stream (client and server in this one process) and prints
 * one JSON line with the hashes, timings and peak RSS.
 *
 *   node --import tsx test/blob/rss-child.ts [size=200000000] [mode=collect|stream]
 *
 * What is held: the client generates the payload piece by piece (hashing it as
 * it goes) and verifies what comes back with verifyChunks + a running hash,
 * storing nothing. In `collect` mode the server holds ONE copy of the blob
 * (collectBlob's preallocated buffer, sent back as views of it); in `stream`
 * mode nothing holds the blob. Beyond that only chunks in flight are alive.
 */
import { createHash } from 'node:crypto';
import { toChunks, verifyChunks } from '../../libs/blob/index.js';
import { echoClient, prngPieces, startEchoServer, writeChunks, type EchoMode } from './echo.js';

const size = Number(process.argv[2] ?? 200_000_000);
const mode = (process.argv[3] ?? 'collect') as EchoMode;
const t0 = performance.now();
const server = await startEchoServer({ mode, maxSize: size });
const client = echoClient(server.address);
try {
  const call = client.echo();
  const sent = createHash('sha256');
  const source = (function* () { for (const p of prngPieces(size, 42)) { sent.update(p); yield p; } })();
  let maxChunkData = 0;
  const sending = writeChunks(call, (async function* () {
    for await (const c of toChunks(source, { totalSize: size })) { maxChunkData = Math.max(maxChunkData, c.data.byteLength); yield c; }
  })()).then(() => call.end());
  const received = createHash('sha256');
  let bytes = 0;
  for await (const piece of verifyChunks(call, { maxSize: size })) { received.update(piece); bytes += piece.byteLength; }
  await sending;
  const seconds = (performance.now() - t0) / 1000;
  const usage = process.resourceUsage();
  console.log(JSON.stringify({
    size, mode, bytes, seconds,
    sentSha256: sent.digest('hex'),
    receivedSha256: received.digest('hex'),
    maxChunkData,
    maxMessageBytes: server.maxMessageBytes(),
    maxRssBytes: usage.maxRSS * 1024,
  }));
} finally {
  client.close();
  await server.close();
}

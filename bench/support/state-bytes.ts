/**
 * The state benchmarks' bytes and their reference: N bytes as views of one
 * 64 MiB random buffer (generating them costs nothing), and a Node socket pair
 * on loopback moving the same bytes in the benchmark's own process.
 */
import { randomFillSync, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';

const PATTERN = randomFillSync(Buffer.allocUnsafe(64 << 20));
const PIECE = 1 << 20;

/** `size` bytes in pieces of 1 MiB, the same bytes on every call, hashed into `hash` as they pass. */
export function* statePieces(size: number, hash?: Hash): Generator<Buffer> {
  for (let at = 0; at < size; at += PIECE) {
    const start = at % PATTERN.length;
    const piece = PATTERN.subarray(start, start + Math.min(PIECE, size - at, PATTERN.length - start));
    hash?.update(piece);
    yield piece;
  }
}

/** Seconds a loopback socket pair in this process takes to move `bytes` (writer and reader on one event loop). */
export async function socketSeconds(bytes: number): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const writer = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [reader] = await once(server, 'connection') as [Socket];
  const t0 = performance.now();
  let got = 0;
  const done = new Promise<void>((resolve) => reader.on('data', (b: Buffer) => { got += b.byteLength; if (got >= bytes) resolve(); }));
  for (const piece of statePieces(bytes)) if (!writer.write(piece)) await once(writer, 'drain');
  await done;
  const seconds = (performance.now() - t0) / 1000;
  writer.destroy();
  reader.destroy();
  server.close();
  return seconds;
}

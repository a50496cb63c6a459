/**
 * What a bulk lane for state bytes beside gRPC could reach here: plain
 * node:http between two processes, the server reading and writing the state
 * folder as the controller does (BlobFolder: pieces of 1 MiB, SHA-256 of what
 * it writes, fsync unless --no-sync), the client hashing what it receives.
 * No mesh code on the wire: this is the ceiling a lane would start from, against
 * a socket pair in the same run (as bench/states/transfer.ts measures the gRPC path).
 *
 *   node --import tsx bench/states/http-lane.ts [--bytes 1000000000] [--rounds 2] [--no-sync]
 *
 * Prints a table and `figure http_get_vs_socket <ratio>`, `figure http_put_vs_socket <ratio>`.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BlobFolder } from '../../libs/blob/index.js';
import { socketSeconds, statePieces } from '../support/state-bytes.js';

const { values: args } = parseArgs({
  options: { bytes: { type: 'string', default: '1000000000' }, rounds: { type: 'string', default: '2' }, 'no-sync': { type: 'boolean', default: false }, serve: { type: 'string' } },
});
const size = Number(args.bytes);

/** The server process: GET /blob streams the stored blob, PUT /blob stores the body (hashed, synced) and answers its SHA-256. */
async function serve(root: string): Promise<void> {
  const folder = await BlobFolder.open(root, { sync: !args['no-sync'] });
  let n = 0;
  const server = http.createServer((req, res) => {
    void (async () => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'content-length': size });
        for await (const piece of folder.read('blob', size)) if (!res.write(piece)) await once(res, 'drain');
        res.end();
      } else {
        const name = `upload${n++}`;
        const written = await folder.write(name, req);
        await folder.commit(name);
        res.end(written.sha256.toString('hex'));
      }
    })().catch((err: unknown) => { res.destroy(err as Error); });
  });
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as AddressInfo).port));
}

if (args.serve) {
  await serve(args.serve);
} else {
  const pieces = () => statePieces(size);
  const expected = createHash('sha256');
  for (const p of pieces()) expected.update(p);
  const digest = expected.digest('hex');

  const root = await mkdtemp(path.join(tmpdir(), 'aide-http-lane-'));
  const seeded = await BlobFolder.open(root, { sync: false });
  await seeded.write('blob', (async function* () { yield* pieces(); })());
  await seeded.commit('blob');
  const child = fork(fileURLToPath(import.meta.url), ['--serve', root, '--bytes', String(size), ...(args['no-sync'] ? ['--no-sync'] : [])], { execArgv: ['--import', 'tsx'] });
  const [port] = await once(child, 'message') as [number];
  const agent = new http.Agent({ keepAlive: true });
  const rows: { socket: number; get: number; put: number }[] = [];
  try {
    for (let r = 0; r < Number(args.rounds); r++) {
      const socket = await socketSeconds(size);
      let t0 = performance.now();
      const got = await new Promise<string>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path: '/blob', agent }, (res) => {
          const hash = createHash('sha256');
          res.on('data', (b: Buffer) => hash.update(b)).on('end', () => resolve(hash.digest('hex'))).on('error', reject);
        }).on('error', reject);
      });
      const get = (performance.now() - t0) / 1000;
      t0 = performance.now();
      const stored = await new Promise<string>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/blob', method: 'PUT', agent, headers: { 'content-length': size } }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (s: string) => { body += s; }).on('end', () => resolve(body));
        });
        req.on('error', reject);
        void (async () => {
          for (const p of pieces()) if (!req.write(p)) await once(req, 'drain');
          req.end();
        })();
      });
      const put = (performance.now() - t0) / 1000;
      if (got !== digest || stored !== digest) throw new Error(`round ${r + 1}: the bytes changed on the way`);
      rows.push({ socket, get, put });
      console.error(`round ${r + 1}: socket ${(size / 1e6 / socket).toFixed(0)} MB/s, GET ${get.toFixed(2)} s, PUT ${put.toFixed(2)} s`);
    }
  } finally {
    agent.destroy();
    child.kill();
    await rm(root, { recursive: true, force: true });
  }
  const best = (k: 'socket' | 'get' | 'put') => Math.min(...rows.map((x) => x[k]));
  const mbs = (s: number) => (size / 1e6 / s).toFixed(0);
  console.log(`\n| what (${(size / 1e9).toFixed(2)} GB, best of ${rows.length}${args['no-sync'] ? ', no fsync' : ''}) | s | MB/s | ÷ socket |`);
  console.log('|---|---:|---:|---:|');
  console.log(`| Node socket pair, loopback | ${best('socket').toFixed(2)} | ${mbs(best('socket'))} | 1 |`);
  console.log(`| HTTP GET from the folder, client hashing | ${best('get').toFixed(2)} | ${mbs(best('get'))} | ${(best('socket') / best('get')).toFixed(2)} |`);
  console.log(`| HTTP PUT into the folder, server hashing${args['no-sync'] ? '' : ' and syncing'} | ${best('put').toFixed(2)} | ${mbs(best('put'))} | ${(best('socket') / best('put')).toFixed(2)} |`);
  console.log(`figure http_get_vs_socket ${(best('socket') / best('get')).toFixed(2)}`);
  console.log(`figure http_put_vs_socket ${(best('socket') / best('put')).toFixed(2)}`);
}

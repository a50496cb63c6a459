/**
 * A model state larger than Postgres's 1 GB bytea limit through the
 * controller: ImportModelState then ExportModelState over gRPC (client and
 * server in one child process, test/controller/state-transfer-child.ts, the
 * same path as test/controller/model-states.test.ts's 300 MB case), checked
 * byte-exact by SHA-256, with the child's peak RSS. Reference, same run: the
 * same bytes written as 1 MiB rows with the pg driver in one transaction and
 * read back 4 rows at a time (the database's own floor); the ratio is the
 * controller's MB/s over it.
 *
 *   node --import tsx bench/controller/state-transfer.ts [bytes=1500000000]
 *
 * Needs the real Postgres (AIDE_TEST_DATABASE_URL, default postgres://127.0.0.1:5432/test).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { prngPieces } from '../../test/blob/echo.js';
import { realPostgresUrl } from '../../test/support/postgres.js';

const size = Number(process.argv[2] ?? 1_500_000_000);
const url: string = await realPostgresUrl() ?? '';
if (!url) throw new Error('no real Postgres answers (AIDE_TEST_DATABASE_URL)');
const MiB = 1 << 20;
const mb = (bytes: number, seconds: number) => bytes / 1e6 / seconds;

interface ChildResult {
  bytes: number; importSeconds: number; seconds: number; sentSha256: string; receivedSha256: string; storedSha256: string;
  chunkRows: number; maxChunkRow: number; baselineRssBytes: number; peakRssBytes: number;
}

async function throughController(): Promise<ChildResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/controller/state-transfer-child.ts', String(size), url], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`state-transfer child exited ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult;
}

/** The same rows straight through the driver: what Postgres itself takes to store and return them. */
async function throughDriver(): Promise<{ writeSeconds: number; readSeconds: number; sha256: string }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const schema = `bench_state_${process.pid}`;
  try {
    await client.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.chunks (seq integer PRIMARY KEY, data bytea NOT NULL)`);
    let t0 = performance.now();
    await client.query('BEGIN');
    let seq = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      await client.query(`INSERT INTO ${schema}.chunks VALUES ($1, $2)`, [seq++, Buffer.concat(pending)]);
      pending = [];
      pendingBytes = 0;
    };
    for (const piece of prngPieces(size, 7)) {
      pending.push(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
      pendingBytes += piece.byteLength;
      if (pendingBytes >= MiB) await flush();
    }
    if (pendingBytes > 0) await flush();
    await client.query('COMMIT');
    const writeSeconds = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const hash = createHash('sha256');
    for (let at = 0; ; at += 4) {
      const { rows } = await client.query<{ data: Buffer }>(`SELECT data FROM ${schema}.chunks WHERE seq >= $1 ORDER BY seq LIMIT 4`, [at]);
      for (const r of rows) hash.update(r.data);
      if (rows.length < 4) break;
    }
    return { writeSeconds, readSeconds: (performance.now() - t0) / 1000, sha256: hash.digest('hex') };
  } finally {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  }
}

console.log(`# ${(size / 1e9).toFixed(2)} GB state (${Math.ceil(size / MiB)} rows of 1 MiB), Postgres at ${url.replace(/\/\/[^@]*@/, '//')}`);
const controller = await throughController();
const exportSeconds = controller.seconds - controller.importSeconds;
const exact = controller.receivedSha256 === controller.sentSha256 && controller.storedSha256 === controller.sentSha256;
console.log(`controller  import ${controller.importSeconds.toFixed(1)} s (${mb(size, controller.importSeconds).toFixed(1)} MB/s), export ${exportSeconds.toFixed(1)} s (${mb(size, exportSeconds).toFixed(1)} MB/s)`);
console.log(`            byte-exact: ${exact} (sha256 ${controller.sentSha256.slice(0, 16)}…), rows ${controller.chunkRows} × ≤ ${controller.maxChunkRow} B`);
console.log(`            RSS ${(controller.baselineRssBytes / 1e6).toFixed(0)} MB before, peak ${(controller.peakRssBytes / 1e6).toFixed(0)} MB (+${((controller.peakRssBytes - controller.baselineRssBytes) / 1e6).toFixed(0)} MB for a ${(size / 1e6).toFixed(0)} MB state)`);
const driver = await throughDriver();
console.log(`pg driver   write ${driver.writeSeconds.toFixed(1)} s (${mb(size, driver.writeSeconds).toFixed(1)} MB/s), read ${driver.readSeconds.toFixed(1)} s (${mb(size, driver.readSeconds).toFixed(1)} MB/s), same bytes: ${driver.sha256 === controller.sentSha256}`);
console.log(`ratio (controller ÷ driver)  import ${(driver.writeSeconds / controller.importSeconds).toFixed(2)}  export ${(driver.readSeconds / exportSeconds).toFixed(2)}`);
if (!exact) process.exitCode = 1;

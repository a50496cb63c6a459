/**
 * RegisterImages without the mesh: the controller's registerImages() on the real Postgres (a fresh schema, the
 * controller's migrations) against a FileServer in a child process (gRPC on loopback, as in the mesh), on N PNGs
 * of bench/scale/data-path.ts (56×56 noise, 1,000 a folder). Per round the project's images are deleted first
 * (not timed). Steps, the best of `--repeat` rounds each:
 *
 *   register  registerImages() of the folder, end to end (walk, size and check on the FileServer, insert)
 *   list      the walk alone: FileServerClient.list of the folder, recursive
 *   sizes     the size reads alone: what registration asks the FileServer for (ReadImages), every path
 *   walk      reference: a plain readdir + stat of the same files in this process
 *   metadata  reference: sharp's metadata() of each file in this process (4 in flight), header only
 *
 *   node --import tsx bench/controller/register.ts [--images 20000] [--repeat 3]
 *
 * Prints a table and `figure register_per_s <value>` (with `register_vs_walk`). `node --cpu-prof --import tsx …`
 * profiles both processes (the FileServer is forked with the same flags).
 */
import { fork } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pMap from 'p-map';
import sharp from 'sharp';
import { migrate, openDatabase } from '../../libs/db/index.js';
import { FileServerClient } from '../../libs/fileserver-client/index.js';
import { FileServiceService } from '../../libs/gen/aide/v1/fileserver.js';
import { createClient, startServer } from '../../libs/grpc/index.js';
import { createLogger } from '../../libs/log.js';
import { registerImages, sizeRequest } from '../../services/controller/api/image-registration.js';
import { CONTROLLER_MIGRATIONS } from '../../services/controller/schema/index.js';
import { fileServiceEntry } from '../../services/fileserver/service.js';
import { openFileStore } from '../../services/fileserver/store.js';
import { insertLabelsProject } from '../../test/support/controller-db.js';
import { realPostgresUrl } from '../../test/support/postgres.js';
import { noisePngs } from '../support/noise-pngs.js';

const PROJECT = 'reg';

/** The FileServer's side: serves `root` and sends its gRPC address to the parent. */
async function serve(root: string): Promise<void> {
  const server = await startServer({
    name: 'fileserver', host: '127.0.0.1', port: 0, reflection: false, logger: createLogger('bench', 'silent'),
    services: [fileServiceEntry(await openFileStore({ root }))],
  });
  process.send!(server.address);
  process.on('disconnect', () => void server.shutdown(1000).then(() => process.exit(0)));
}

if (process.argv[2] === '--serve') {
  await serve(process.argv[3]!);
} else {
  await main();
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({ options: { images: { type: 'string', default: '20000' }, repeat: { type: 'string', default: '3' } } });
  const n = Number(args.images);
  const repeat = Number(args.repeat);
  const url = await realPostgresUrl();
  if (!url) throw new Error('no real Postgres answers (AIDE_TEST_DATABASE_URL)');

  const pngs = await noisePngs(64, 56);
  const tmp = await mkdtemp(path.join(tmpdir(), 'aide-bench-register-'));
  const root = path.join(tmp, 'root');
  const paths = Array.from({ length: n }, (_, i) => `img/${String(Math.floor(i / 1000)).padStart(4, '0')}/${String(i).padStart(7, '0')}.png`);
  for (const folder of new Set(paths.map((p) => path.dirname(p)))) await mkdir(path.join(root, PROJECT, folder), { recursive: true });
  await pMap(paths, (p, i) => writeFile(path.join(root, PROJECT, p), pngs[i % pngs.length]!), { concurrency: 16 });

  const child = fork(fileURLToPath(import.meta.url), ['--serve', root], { stdio: 'inherit' });
  const address = await new Promise<string>((resolve) => child.once('message', (m) => resolve(String(m))));
  const grpc = createClient(FileServiceService, address);
  const files = new FileServerClient({ project: PROJECT, client: grpc });

  const schema = `bench_register_${process.pid}`;
  const database = await openDatabase({ url, schema, poolSize: 4 });
  const { pool } = database;
  const signal = new AbortController().signal;
  try {
    await migrate(pool, CONTROLLER_MIGRATIONS);
    await insertLabelsProject(pool, PROJECT);

    /** Images a second, the best of the rounds. */
    async function best(before: () => Promise<unknown>, run: () => Promise<number>): Promise<number> {
      let rate = 0;
      for (let r = 0; r < repeat; r++) {
        await before();
        const t0 = performance.now();
        const count = await run();
        if (count !== n) throw new Error(`handled ${count} of ${n}`);
        rate = Math.max(rate, n / ((performance.now() - t0) / 1000));
      }
      return rate;
    }
    const nothing = () => Promise.resolve();
    const register = await best(() => pool.query('DELETE FROM images WHERE project = $1', [PROJECT]),
      async () => (await registerImages(pool, PROJECT, files, 'img', signal)).added);
    const list = await best(nothing, async () => {
      let count = 0;
      for await (const _ of files.list('img', { recursive: true, signal })) count++;
      return count;
    });
    const sizes = await best(nothing, async () => {
      let count = 0;
      for await (const result of files.getImages(paths, sizeRequest(signal))) {
        if (result.error) throw new Error(`${result.path}: ${result.error.message}`);
        count++;
      }
      return count;
    });
    const walk = await best(nothing, async () => {
      let count = 0;
      const top = path.join(root, PROJECT, 'img');
      for (const folder of await readdir(top)) {
        for (const name of await readdir(path.join(top, folder))) {
          await stat(path.join(top, folder, name), { bigint: true });
          count++;
        }
      }
      return count;
    });
    const metadata = await best(nothing, async () =>
      (await pMap(paths, (p) => sharp(path.join(root, PROJECT, p)).metadata(), { concurrency: 4 })).length);

    console.log(`| step (${n} PNGs of 56×56, best of ${repeat}) | images/s |\n|---|---|`);
    for (const [what, rate] of [['register', register], ['list (walk over gRPC)', list], ['sizes (ReadImages as registration asks)', sizes],
      ['reference: readdir + stat in process', walk], ['reference: sharp metadata() in process', metadata]] as const) {
      console.log(`| ${what} | ${rate.toFixed(0)} |`);
    }
    console.log(`figure register_per_s ${register.toFixed(0)}`);
    console.log(`figure register_vs_walk ${(register / walk).toFixed(2)}`);
  } finally {
    await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await database.close();
    grpc.close();
    child.disconnect();
    await new Promise((resolve) => child.once('exit', resolve));
    await rm(tmp, { recursive: true, force: true });
  }
}
